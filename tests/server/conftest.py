"""Fixtures of the server tests: crafted wheels and a hub (the built test operator wheels,
``wheels``, come from the session's wheelhouse in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.app import InProcessHub
from support.crafted import wheel_files, write_wheel


@pytest.fixture
def make_wheel(tmp_path: Path) -> Callable[..., Path]:
    """``make_wheel(name, version, **metadata)``: a valid crafted operator wheel."""
    def make(name: str = "opshub-demo", version: str = "1.0", **metadata: str) -> Path:
        return write_wheel(tmp_path, wheel_files(name, version, **metadata))

    return make


@pytest.fixture
def hub_app(tmp_path: Path) -> Iterator[InProcessHub]:
    """The hub app on fresh storage behind Starlette's TestClient (no socket: fastest)."""
    with InProcessHub(tmp_path / "storage") as hub:
        yield hub
