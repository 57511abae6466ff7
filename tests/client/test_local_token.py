"""The local token goes only to the hub that wrote it, wherever its storage is (#11).

Before: with no HUB_TOKEN the client sent the local token to whatever answered on a
loopback port (a stand-in listener received it from `hub yank`), and a hub started
with `--storage DIR` answered its own clients 401/403.
"""

from __future__ import annotations

import base64
import http.server
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.hub_server import HubServer, start_hub_server

from hub.cli import main

pytestmark = pytest.mark.server


class StandIn(http.server.ThreadingHTTPServer):
    """A listener that answers every request with `{}` and keeps its Authorization headers."""

    def __init__(self, port: int = 0) -> None:
        self.authorizations: list[str] = []
        self.paths: list[str] = []
        super().__init__(("127.0.0.1", port), _Recorder)
        threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def received(self, secret: str) -> bool:
        return any(secret in base64.b64decode(h.split()[-1]).decode(errors="replace")
                   for h in self.authorizations)


class _Recorder(http.server.BaseHTTPRequestHandler):
    def _answer(self) -> None:
        assert isinstance(self.server, StandIn)
        self.server.paths.append(self.path)
        if self.headers.get("Authorization"):
            self.server.authorizations.append(self.headers["Authorization"])
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        body = json.dumps({}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def local_hub(tmp_path: Path) -> Iterator[HubServer]:
    """`hub serve --storage <not the default>`, which writes and records its local token."""
    server = start_hub_server(tmp_path / "elsewhere", token="none")  # serve makes the token
    yield server
    server.stop()


@pytest.fixture
def default_hub() -> Iterator[HubServer]:
    """A plain `hub serve` on the default storage (where the old client read the token)."""
    server = start_hub_server(Path(os.environ["HUB_DATA_DIR"]) / "storage", token="none")
    yield server
    server.stop()


def _hub(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.exit_code, result.stderr


def test_a_hub_with_its_own_storage_is_found_by_its_clients(
    local_hub: HubServer, wheels: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_URL", local_hub.url)  # and no HUB_TOKEN
    assert _hub("publish", str(wheels["basic"])) == (0, "")
    assert _hub("yank", "opshub-test-basic", "1.0.0", "--reason", "r")[0] == 0


def test_the_local_token_never_reaches_a_stand_in_listener(
    default_hub: HubServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    local_hub = default_hub
    secret = (local_hub.storage / "local-token").read_text().strip()
    other_port = StandIn()
    monkeypatch.setenv("HUB_URL", other_port.url)
    _hub("yank", "opshub-test-basic", "1.0.0", "--reason", "r")
    assert other_port.paths and not other_port.received(secret)

    port = int(local_hub.url.rsplit(":", 1)[1])
    local_hub.process.kill()  # SIGKILL: its record stays, and the port is free to take
    local_hub.process.wait()
    same_port = StandIn(port)
    monkeypatch.setenv("HUB_URL", local_hub.url)
    code, stderr = _hub("yank", "opshub-test-basic", "1.0.0", "--reason", "r")
    assert code == 1 and stderr.count("\n") == 1
    assert "not sending the local token" in stderr and "did not prove" in stderr
    assert same_port.paths and not same_port.received(secret)
    for server in (other_port, same_port):
        server.shutdown()
        server.server_close()


def test_revoking_the_local_token_keeps_its_clients_working(
    local_hub: HubServer, wheels: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: the client kept sending the revoked token from local-token: 403 for good."""
    old = (local_hub.storage / "local-token").read_text().strip()
    assert _hub("token", "revoke", old[:13], "--storage", str(local_hub.storage))[0] == 0
    monkeypatch.setenv("HUB_URL", local_hub.url)  # and no HUB_TOKEN: the local token
    assert _hub("publish", str(wheels["basic"])) == (0, "")
