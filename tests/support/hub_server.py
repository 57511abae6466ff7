"""A real `hub serve` process on a free loopback port, started and stopped by the test."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from .markers import require
from .net import free_port

HUB_CMD = [sys.executable, "-m", "hub"]


@dataclass
class HubServer:
    """A `hub serve` process on a free loopback port, with an upload token."""

    url: str
    storage: Path
    token: str
    process: subprocess.Popen[bytes]

    @property
    def index_url(self) -> str:
        return self.url + "/simple/"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_hub_server(storage: Path, token: str | None = None) -> HubServer:
    """Start `hub serve` on `storage` (creating a token unless given) and wait until healthy."""
    require("server", "starts a `hub serve` process")
    if token is None:
        out = subprocess.run(
            [*HUB_CMD, "token", "create", "--storage", str(storage)],
            capture_output=True, text=True, check=True,
        )
        token = out.stdout.strip().splitlines()[-1]
    port = free_port()
    process = subprocess.Popen(
        [*HUB_CMD, "serve", "--host", "127.0.0.1", "--port", str(port), "--storage",
         str(storage)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    server = HubServer(f"http://127.0.0.1:{port}", storage, token, process)
    try:
        wait_healthy(server, timeout=60)
    except BaseException:
        server.stop()
        raise
    return server


def wait_healthy(server: HubServer, timeout: float) -> None:
    """Wait until the server answers its health check; fail if it exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"hub serve exited with {server.process.returncode}")
        try:
            if requests.get(server.url + "/api/health", timeout=2).ok:
                return
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError(f"hub serve did not become healthy in {timeout} s")
