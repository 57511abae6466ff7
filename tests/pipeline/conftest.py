"""Fixtures for pipeline tests: the session's Ray with test functions shipped by value,
and the two-node cluster of tests/runtime_env (a bare second node)."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest


@pytest.fixture
def ray_here(ray_local: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """The session's local Ray, with the calling test module pickled by value."""
    module = sys.modules[request.module.__name__]
    ray_local.cloudpickle.register_pickle_by_value(module)
    yield ray_local
    ray_local.cloudpickle.unregister_pickle_by_value(module)


def _renv_cluster() -> ModuleType:
    """tests/runtime_env/renv_cluster.py, loaded by path (that folder is not a package)."""
    if "renv_cluster" not in sys.modules:
        path = Path(__file__).parents[1] / "runtime_env" / "renv_cluster.py"
        spec = importlib.util.spec_from_file_location("renv_cluster", path)
        assert spec is not None and spec.loader is not None
        sys.modules["renv_cluster"] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules["renv_cluster"])
    return sys.modules["renv_cluster"]


@pytest.fixture(scope="session")
def renv_cluster() -> ModuleType:
    return _renv_cluster()


@pytest.fixture(scope="session")
def bare_node_cluster(renv_cluster: ModuleType) -> Iterator[Any]:
    """A head from .venv plus a node (resource ``bare``) whose venv holds only ray[default]."""
    cluster = renv_cluster.start_cluster(renv_cluster.bare_venv())
    yield cluster
    cluster.stop()
