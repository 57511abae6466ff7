"""Markers that mean what they say (issue #13), checked while the tests run.

``tests/conftest.py`` records the running test's markers here (:data:`RUNNING`); what
starts a hub server, a local Ray or a cluster calls :func:`require` first, so a test that
starts one without its marker fails at once, naming the marker. Outside pytest
(benchmarks, docs/screenshots.py) nothing is recorded and nothing is checked.

``network`` is checked by the environment instead: a test without it (and without
``ray`` or ``cluster``, whose processes outlive one test's environment) sees proxy
variables pointing at a dead loopback port and no remote index of this machine's pip
settings (:data:`NO_NETWORK`: the default index is an empty local folder), so pip, uv and
requests fail at once on anything beyond loopback instead of quietly reaching PyPI. A find-links folder (PIP_FIND_LINKS, such as
/opt/wheels) is local, and stays.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

RUNNING: frozenset[str] | None = None  # the running test's markers; None outside pytest

DEAD = "http://127.0.0.1:9"  # the discard port: nothing listens, a connect is refused
# The default index of an offline test: a local folder that holds nothing (and need not
# exist), so pip and uv find no third-party package there instead of asking PyPI.
EMPTY_INDEX = (Path(__file__).parent / "empty-index").as_uri()
NO_NETWORK: dict[str, str | None] = {  # None: unset
    **{name: DEAD for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy",
                               "https_proxy", "all_proxy")},
    **{name: "127.0.0.1,localhost,::1,testserver" for name in ("NO_PROXY", "no_proxy")},
    "PIP_INDEX_URL": EMPTY_INDEX,
    "PIP_EXTRA_INDEX_URL": None,
}
# Fixtures that hand a test something already started: a test using one needs its marker.
FIXTURE_MARKERS = {"ray_local": "ray", "ray_here": "ray", "bare_node_cluster": "cluster",
                   "hub_server": "server"}


class MarkerMissing(AssertionError):
    """Raised when a test starts (or uses) something its markers do not declare."""


def require(marker: str, what: str) -> None:
    """Fail the running test unless it carries ``marker`` (it is about to do ``what``)."""
    if RUNNING is not None and marker not in RUNNING:
        raise MarkerMissing(f"this test {what} but is not marked @pytest.mark.{marker} "
                            "(pyproject.toml says what each marker means)")


def missing_for_fixtures(fixtures: Iterable[str], markers: frozenset[str]) -> list[str]:
    """The markers a test's fixtures call for that it lacks."""
    return sorted({FIXTURE_MARKERS[f] for f in fixtures if f in FIXTURE_MARKERS} - markers)


def offline(markers: frozenset[str]) -> bool:
    """Whether a test with these markers runs with the dead proxy (see the module doc)."""
    return not markers & {"network", "ray", "cluster"}
