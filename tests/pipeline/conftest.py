"""Fixtures for pipeline tests: the session's Ray with test functions shipped by value,
and the two-node cluster of tests/runtime_env (a bare second node)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest
from support.cluster import Cluster, bare_venv, start_cluster


@pytest.fixture
def ray_here(ray_local: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """The session's local Ray, with the calling test module pickled by value."""
    module = sys.modules[request.module.__name__]
    ray_local.cloudpickle.register_pickle_by_value(module)
    yield ray_local
    ray_local.cloudpickle.unregister_pickle_by_value(module)


@pytest.fixture(scope="session")
def bare_node_cluster() -> Iterator[Cluster]:
    """A head from .venv plus a node (resource ``bare``) whose venv holds only ray[default]."""
    cluster = start_cluster(bare_venv())
    yield cluster
    cluster.stop()
