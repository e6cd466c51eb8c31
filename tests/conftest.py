"""Shared fixtures and marker handling.

Markers: ``slow`` runs only with ``--run-slow``; ``gpu`` needs CUDA; ``network`` needs
``BENCH_NETWORK=1``. Each is skipped with its reason otherwise, never faked.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", help="also run tests marked slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    run_slow = config.getoption("--run-slow")
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except ImportError:  # pragma: no cover
        has_cuda = False
    has_net = os.environ.get("BENCH_NETWORK") == "1"
    for item in items:
        if "slow" in item.keywords and not run_slow:
            item.add_marker(pytest.mark.skip(reason="slow: run with --run-slow"))
        if "gpu" in item.keywords and not has_cuda:
            item.add_marker(pytest.mark.skip(reason="gpu: no CUDA device here"))
        if "network" in item.keywords and not has_net:
            item.add_marker(pytest.mark.skip(reason="network: set BENCH_NETWORK=1 to run"))


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Every test gets its own cache and data root, so nothing touches ~/.cache/bench."""
    root = tmp_path_factory.mktemp("bench_home")
    monkeypatch.setenv("BENCH_CACHE", str(root / "cache"))
    monkeypatch.setenv("BENCH_DATA", str(root / "data"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    yield
    from bench.download import forget_failures

    forget_failures()  # each test starts with no remembered unreachable URL


@pytest.fixture(autouse=True)
def _forget_task_dirs():
    """Folders added with ``--tasks-dir`` in one test never reach the next."""
    yield
    import bench.tasks

    if bench.tasks.added_task_dirs():
        bench.tasks.reset(dirs=True)


@pytest.fixture
def imagefolder_task(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user task folder with ``colours.yaml`` (imagefolder) and its data at $BENCH_DATA."""
    from _tasks_fixtures import imagefolder_task_dir

    monkeypatch.setenv("BENCH_DATA", str(tmp_path / "data"))
    return imagefolder_task_dir(tmp_path)


def load_reference_module(name: str) -> ModuleType:
    """Loads a module of OpenAI's reference package ``clip`` (PyPI ``openai-clip``) by path.

    The package's ``__init__`` imports ``pkg_resources``, which new setuptools no longer
    has, so the modules we compare against (``model``, ``simple_tokenizer``) are loaded
    from their files directly. Skips the calling test when the package is absent.
    """
    spec = importlib.util.find_spec("clip")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("OpenAI's reference implementation (pip install openai-clip) is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / f"{name}.py"
    key = f"_openai_clip_{name}"
    if key in sys.modules:
        return sys.modules[key]
    mod_spec = importlib.util.spec_from_file_location(key, path)
    assert mod_spec and mod_spec.loader
    module = importlib.util.module_from_spec(mod_spec)
    sys.modules[key] = module
    mod_spec.loader.exec_module(module)
    return module
