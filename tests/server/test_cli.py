"""`hub token create` and `hub serve` (first start creates and shares a token)."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from support.net import free_port

from hub.cli import main
from hub.server import Storage, check_token


def test_token_create_prints_the_token_last(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["token", "create", "--storage", str(tmp_path / "st")])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("ohub_") and check_token(Storage(tmp_path / "st"), token)


def test_token_create_defaults_to_the_data_dir() -> None:
    result = CliRunner().invoke(main, ["token", "create"])
    token = result.stdout.strip().splitlines()[-1]
    assert check_token(Storage(Path(os.environ["HUB_DATA_DIR"]) / "storage"), token)


@pytest.mark.server
def test_first_serve_creates_a_local_token_then_reuses_it(tmp_path: Path) -> None:
    storage = tmp_path / "st"
    port = free_port()
    token = _serve_once(storage, port)
    local = storage / "local-token"
    assert local.read_text().strip() == token and check_token(Storage(storage), token)
    assert stat.S_IMODE(local.stat().st_mode) == 0o600
    assert _serve_once(storage, port) is None  # a token exists: none created, file kept
    assert local.read_text().strip() == token


def _serve_once(storage: Path, port: int) -> str | None:
    """Start `hub serve`, wait until healthy, stop it; return the token it printed, if any."""
    process = subprocess.Popen(
        [sys.executable, "-m", "hub", "serve", "--port", str(port), "--storage", str(storage)],
        stdout=subprocess.PIPE, text=True)
    try:
        lines = []
        while not (line := process.stdout.readline()).startswith("serving"):
            assert line, "hub serve exited early"
            lines.append(line.strip())
        assert line.split()[1:4] == [str(storage), "at", f"http://127.0.0.1:{port}/"]
        _wait_healthy(f"http://127.0.0.1:{port}")
    finally:
        process.terminate()
        process.wait(10)
    return lines[-1] if lines else None


def _wait_healthy(url: str) -> None:
    for _ in range(100):
        try:
            if requests.get(url + "/api/health", timeout=1).ok:
                return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise AssertionError("hub serve never became healthy")


def test_serve_help_names_the_defaults() -> None:
    result = CliRunner().invoke(main, ["serve", "--help"])
    assert result.exit_code == 0 and "127.0.0.1" in result.output and "8470" in result.output


def test_serve_on_a_taken_port_is_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(main, ["serve", "--port", str(port),
                                           "--storage", str(tmp_path / "st")])
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr and "--port" in result.stderr
    assert not (tmp_path / "st").exists()  # failed before touching anything


@pytest.mark.parametrize("host, loopback", [("127.0.0.1", True), ("::1", True),
                                            ("localhost", True), ("0.0.0.0", False)])
def test_loopback_hosts(host: str, loopback: bool) -> None:
    from hub.cli.serve_cmd import _is_loopback

    assert _is_loopback(host) is loopback
