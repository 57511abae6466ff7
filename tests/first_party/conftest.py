"""Fixtures: the first-party operators built as wheels and installed into one folder.

Like the test operators (tests/conftest.py), they are installed `--no-deps` into a
target folder that tests put on sys.path: their third-party requirements come from
the `test` extra, already in the environment.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from uv import find_uv_bin

import hub
from hub._registry import Registry

ROOT = Path(__file__).resolve().parents[2]
OPERATORS = ROOT / "operators"
FIRST_PARTY = ("image-decode", "image-embed", "text-embed")


def install_projects(projects: list[Path], target: Path) -> None:
    """Build and install project directories (no dependencies) into `target`."""
    subprocess.run(
        [find_uv_bin(), "pip", "install", "--quiet", "--no-deps", "--target", str(target),
         *map(str, projects)],
        check=True,
    )


@contextmanager
def on_path(site: Path) -> Iterator[None]:
    """Temporarily make the distributions in `site` importable and discoverable."""
    sys.path.insert(0, str(site))
    try:
        yield
    finally:
        sys.path.remove(str(site))


@pytest.fixture(scope="session")
def first_party_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first-party operators from operators/, installed into one folder."""
    site = tmp_path_factory.mktemp("first-party-site")
    install_projects([OPERATORS / name for name in FIRST_PARTY], site)
    return site


@pytest.fixture
def first_party(first_party_site: Path, site_on_path: Callable[[Path], Path]) -> Path:
    """The installed first-party operators, discoverable for this test."""
    return site_on_path(first_party_site)


def built_operator(site: Path, name: str) -> hub.Operator:
    """A hub Operator for `name`, found through its entry point and built (model loaded)."""
    with on_path(site):
        operator = hub.Operator(Registry.discover().get(name))
        operator.build()
    return operator


@pytest.fixture(scope="session")
def image_embed(first_party_site: Path) -> hub.Operator:
    """`image-embed`, loaded once for the session."""
    return built_operator(first_party_site, "image-embed")


@pytest.fixture(scope="session")
def text_embed(first_party_site: Path) -> hub.Operator:
    """`text-embed`, loaded once for the session."""
    return built_operator(first_party_site, "text-embed")


@pytest.fixture(scope="session")
def image_decode(first_party_site: Path) -> hub.Operator:
    """`image-decode`, imported once for the session."""
    return built_operator(first_party_site, "image-decode")
