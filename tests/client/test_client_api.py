"""HubClient against a real `hub serve` process: the local token, which the server proves
it wrote for its own port (answers and errors through the app in-process are in
test_client_session.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from support.hub_server import start_hub_server

from hub.client import HubClient
from hub.config import load_settings

pytestmark = pytest.mark.server


def test_a_local_hub_needs_no_setup(wheels: dict[str, Path]) -> None:
    """`hub serve` leaves its first token in the storage; a loopback client picks it up."""
    server = start_hub_server(Path(os.environ["HUB_DATA_DIR"]) / "storage", token="unused")
    try:
        settings = load_settings({**os.environ, "HUB_URL": server.url})
        client = HubClient.from_settings(settings)
        assert client.local and client.upload(wheels["broken"], progress=False)
        assert client.project("opshub-test-broken")["latest"] == "0.0.1"
    finally:
        server.stop()
