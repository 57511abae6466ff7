"""Fixtures of the server tests: the test operator wheels (built once), crafted wheels, a hub."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from uv import find_uv_bin

from .helpers import AppServer, InProcessHub, wheel_files, write_wheel

TEST_OPERATORS = Path(__file__).parents[1] / "operators"
BUILT = ("basic", "broken", "heavy")


@pytest.fixture(scope="session")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The test operator distributions built once as wheels, by folder name."""
    out = tmp_path_factory.mktemp("server-wheels")
    for name in BUILT:
        subprocess.run([find_uv_bin(), "build", "--wheel", "--quiet", "--out-dir", str(out),
                        str(TEST_OPERATORS / name)], check=True)
    return {name: next(out.glob(f"opshub_test_{name}-*.whl")) for name in BUILT}


@pytest.fixture
def make_wheel(tmp_path: Path) -> Callable[..., Path]:
    """``make_wheel(name, version, **metadata)``: a valid crafted operator wheel."""
    def make(name: str = "opshub-demo", version: str = "1.0", **metadata: str) -> Path:
        return write_wheel(tmp_path, wheel_files(name, version, **metadata))

    return make


@pytest.fixture
def app_server(tmp_path: Path) -> Iterator[AppServer]:
    """An in-process hub on fresh storage (fast; for API-level tests)."""
    with AppServer(tmp_path / "storage") as server:
        yield server


@pytest.fixture
def hub_app(tmp_path: Path) -> Iterator[InProcessHub]:
    """The hub app on fresh storage behind Starlette's TestClient (no socket: fastest)."""
    with InProcessHub(tmp_path / "storage") as hub:
        yield hub
