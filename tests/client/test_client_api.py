"""HubClient in-process against a real server: answers, errors, the local token."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from support.hub_server import start_hub_server

from hub._exceptions import HubResponseError, ProjectNotFound
from hub.client import HubClient
from hub.config import load_settings

pytestmark = pytest.mark.server


def test_health_search_and_unknown_project(hub_server: Any) -> None:
    client = HubClient.from_settings()
    assert client.health()["status"] == "ok"
    assert client.search("anything") == []
    with pytest.raises(ProjectNotFound, match=f"no project 'nope' on the hub at {hub_server.url}"):
        client.project("nope")


def test_write_without_a_token_names_the_fix(hub_server: Any,
                                             wheels: dict[str, Path]) -> None:
    client = HubClient(hub_server.url)
    with pytest.raises(HubResponseError, match="set HUB_TOKEN .* `hub token create`") as error:
        client.upload(wheels["basic"])
    assert error.value.status in (401, 403)
    assert HubClient(hub_server.url, hub_server.token).upload(wheels["basic"], progress=False)


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
