"""Packaging glue that pyproject.toml cannot express alone.

The top-level ``tasks/`` folder (one YAML file per task) ships inside the wheel as the
package ``bench.taskfiles``, so a non-editable install reads the same task files as a
checkout. Everything else is declared in pyproject.toml.
"""

from setuptools import find_namespace_packages, setup

setup(
    # Namespace discovery also picks up data-only folders (model configs, package data).
    packages=find_namespace_packages(include=["bench", "bench.*"], exclude=["*.__pycache__"])
    + ["bench.taskfiles"],
    package_dir={"bench.taskfiles": "tasks"},
)
