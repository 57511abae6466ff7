"""Fixtures for pipeline tests: the session's Ray with test functions shipped by value."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture
def ray_here(ray_local: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """The session's local Ray, with the calling test module pickled by value."""
    module = sys.modules[request.module.__name__]
    ray_local.cloudpickle.register_pickle_by_value(module)
    yield ray_local
    ray_local.cloudpickle.unregister_pickle_by_value(module)
