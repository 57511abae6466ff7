"""Shared fixtures: an isolated environment and the test operator distributions."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
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
def site_on_path(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Path], Path]]:
    """A function that puts a folder of installed distributions on sys.path (and on
    PYTHONPATH for subprocesses) for the test, so their operators are discovered."""

    def put(site: Path) -> Path:
        monkeypatch.syspath_prepend(str(site))
        path = os.environ.get("PYTHONPATH")
        monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(site), path])))
        hub.ops.refresh()
        return site

    yield put
    hub.ops.refresh()


@pytest.fixture
def test_ops(test_ops_site: Path, site_on_path: Callable[[Path], Path]) -> Path:
    """The installed test operators, discoverable for this test."""
    return site_on_path(test_ops_site)


# --- a real hub server process --------------------------------------------------------


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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_hub_server(storage: Path, token: str | None = None) -> HubServer:
    """Start `hub serve` on `storage` (creating a token unless given) and wait until healthy."""
    hub_cmd = [sys.executable, "-m", "hub"]
    if token is None:
        out = subprocess.run(
            [*hub_cmd, "token", "create", "--storage", str(storage)],
            capture_output=True, text=True, check=True,
        )
        token = out.stdout.strip().splitlines()[-1]
    port = free_port()
    process = subprocess.Popen(
        [*hub_cmd, "serve", "--host", "127.0.0.1", "--port", str(port), "--storage", str(storage)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    server = HubServer(f"http://127.0.0.1:{port}", storage, token, process)
    try:
        _wait_healthy(server, timeout=60)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_healthy(server: HubServer, timeout: float) -> None:
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


@pytest.fixture
def hub_server(tmp_path: Path) -> Iterator[HubServer]:
    """A fresh hub server with empty storage; HUB_URL and HUB_TOKEN point at it."""
    server = start_hub_server(tmp_path / "storage")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HUB_URL", server.url)
        mp.setenv("HUB_TOKEN", server.token)
        yield server
    server.stop()


# --- a local Ray --------------------------------------------------------------------


@pytest.fixture(scope="session")
def ray_local(test_ops_site: Path) -> Iterator[Any]:
    """One local Ray (2 CPUs) for the session, in a temp dir that is removed afterwards.

    Its workers see the test operators (PYTHONPATH at start), as a node with them
    installed would. Ray never deletes its session folders, hence the own temp dir;
    the short path keeps Ray's socket paths under the 107-byte limit.
    """
    import ray

    temp = Path(tempfile.mkdtemp(prefix="opshub-ray-"))
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(test_ops_site), old]))
    try:
        ray.init(num_cpus=2, include_dashboard=False, _temp_dir=str(temp),
                 log_to_driver=False)
    finally:
        if old is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = old
    yield ray
    ray.shutdown()
    shutil.rmtree(temp, ignore_errors=True)
