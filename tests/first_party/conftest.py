"""Fixtures: the first-party operators installed into one folder.

Like the test operators (tests/conftest.py), their wheels come from the session's
wheelhouse and are installed `--no-deps` into a target folder that tests put on
sys.path: their third-party requirements come from the `test` extra, already in the
environment.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from support.wheelhouse import FIRST_PARTY, Wheelhouse

import hub
from hub._registry import Registry


@contextmanager
def on_path(site: Path) -> Iterator[None]:
    """Temporarily make the distributions in `site` importable and discoverable."""
    sys.path.insert(0, str(site))
    try:
        yield
    finally:
        sys.path.remove(str(site))


@pytest.fixture(scope="session")
def first_party_site(wheelhouse: Wheelhouse, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first-party operators from operators/, installed from the wheelhouse."""
    return wheelhouse.install(FIRST_PARTY, tmp_path_factory.mktemp("first-party-site"))


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
