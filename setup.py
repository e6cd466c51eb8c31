"""Packaging glue that pyproject.toml cannot express alone.

The top-level ``tasks/`` folder (one YAML file per task) ships inside the wheel as the
package ``bench.taskfiles``, so a non-editable install reads the same task files as a
checkout. Everything else is declared in pyproject.toml.
"""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["bench", "bench.*"]) + ["bench.taskfiles"],
    package_dir={"bench.taskfiles": "tasks"},
)
