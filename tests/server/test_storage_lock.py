"""One process serves or repairs a storage at a time (#11 audit).

Before: `hub admin recover`, or a second `hub serve`, on the storage of a running hub
recovered it underneath that hub: they deleted its uploads in flight (``incoming/``)
and could move its database aside. Now both fail at once with one line.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from support.app import upload
from support.crafted import wheel_files, write_wheel
from support.hub_server import HUB_CMD, start_hub_server
from support.net import free_port

pytestmark = pytest.mark.server


def _hub(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HUB_CMD, *args], capture_output=True, text=True, check=False,
                          timeout=60)


def test_a_running_hub_keeps_recovery_and_a_second_hub_off_its_storage(tmp_path: Path) -> None:
    server = start_hub_server(tmp_path / "storage")
    storage = str(server.storage)
    in_flight = server.storage / "incoming" / ".tmp-an-upload-in-flight"
    in_flight.write_bytes(b"half an upload")
    database = (server.storage / "hub.sqlite3").stat().st_ino
    try:
        for args in (["admin", "recover"], ["serve", "--port", str(free_port())]):
            out = _hub(*args, "--storage", storage)
            assert out.returncode == 1 and out.stderr.count("\n") == 1, out.stderr
            assert f"the storage {storage} is in use by another hub process" in out.stderr
        assert in_flight.read_bytes() == b"half an upload"  # not deleted under the server
        assert (server.storage / "hub.sqlite3").stat().st_ino == database
        assert not (server.storage / "quarantine").exists()
        wheel = write_wheel(tmp_path, wheel_files("lock-op", "1.0"))
        assert upload(server.url, server.token, wheel).status_code == 200  # still serving
        assert _hub("admin", "check", "--storage", storage).returncode == 0  # reads are fine
    finally:
        server.stop()
    out = _hub("admin", "recover", "--storage", storage)  # the hub stopped: now it may
    assert out.returncode == 0 and "removed 1 unfinished upload(s)" in out.stdout
