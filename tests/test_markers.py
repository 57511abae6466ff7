"""The markers are checked while the tests run (support.markers): these tests carry none,
so each attack below must fail at once, before anything starts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from support import markers
from support.app import AppServer
from support.cluster import start_cluster
from support.hub_server import start_hub_server


def test_starting_a_hub_server_without_the_marker_fails_before_it_starts(tmp_path: Path
                                                                          ) -> None:
    with pytest.raises(markers.MarkerMissing, match=r"@pytest.mark.server"):
        start_hub_server(tmp_path / "storage")
    with pytest.raises(markers.MarkerMissing, match=r"uvicorn in a thread.*mark.server"):
        AppServer(tmp_path / "other")
    assert list(tmp_path.iterdir()) == []  # no storage, no token: nothing was started


def test_starting_a_cluster_without_the_marker_fails_before_it_starts() -> None:
    with pytest.raises(markers.MarkerMissing, match=r"@pytest.mark.cluster"):
        start_cluster(Path(sys.executable))


def test_fixtures_that_hand_over_a_started_thing_call_for_their_marker() -> None:
    fixtures = ["tmp_path", "ray_here", "ray_local", "hub_server", "bare_node_cluster"]
    assert markers.missing_for_fixtures(fixtures, frozenset({"ray"})) == ["cluster", "server"]
    assert markers.missing_for_fixtures(["hub_app", "tmp_path"], frozenset()) == []


def test_without_the_network_marker_nothing_beyond_loopback_answers() -> None:
    assert os.environ["HTTPS_PROXY"] == markers.DEAD
    assert os.environ["PIP_INDEX_URL"] == markers.EMPTY_INDEX  # local, and empty
    with pytest.raises(requests.exceptions.ProxyError):
        requests.get("https://pypi.org/simple/", timeout=10)
    code = "import urllib.request; urllib.request.urlopen('https://pypi.org/simple/', timeout=10)"
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=False)
    assert child.returncode != 0 and "Connection refused" in child.stderr  # children too


@pytest.mark.network
def test_with_the_network_marker_the_dead_proxy_is_gone() -> None:
    assert os.environ.get("HTTPS_PROXY") != markers.DEAD
