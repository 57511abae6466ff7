"""Shared fixtures: an isolated environment and the test operator distributions."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from uv import find_uv_bin

import hub

TESTS = Path(__file__).parent
TEST_OPERATORS = TESTS / "operators"


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the user's config, data or cache, nor their HUB_* variables."""
    for key in list(os.environ):
        if key.startswith("HUB_"):
            monkeypatch.delenv(key)
    home = tmp_path_factory.mktemp("hub-home")
    monkeypatch.setenv("HUB_CONFIG", str(home / "config.toml"))
    monkeypatch.setenv("HUB_DATA_DIR", str(home / "data"))
    monkeypatch.setenv("HUB_CACHE_DIR", str(home / "cache"))
    hub.ops.refresh()


@pytest.fixture(scope="session")
def test_ops_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test operator distributions, built as wheels and installed into one folder."""
    site = tmp_path_factory.mktemp("test-ops-site")
    projects = sorted(p for p in TEST_OPERATORS.iterdir() if (p / "pyproject.toml").exists())
    subprocess.run(
        [find_uv_bin(), "pip", "install", "--quiet", "--no-deps", "--target", str(site),
         *map(str, projects)],
        check=True,
    )
    return site


@pytest.fixture
def test_ops(test_ops_site: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Put the installed test operators on sys.path (and PYTHONPATH for subprocesses)."""
    monkeypatch.syspath_prepend(str(test_ops_site))
    path = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(test_ops_site), path])))
    hub.ops.refresh()
    yield test_ops_site
    hub.ops.refresh()
