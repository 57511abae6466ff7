"""`hub mirror` (issue #14): idempotent, resumable after a SIGKILL, checked against the lock.

Against a local upstream index that logs every request (support.upstream), never PyPI.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from support.hub_server import HubServer, start_hub_server
from support.index import Stall, operator_wheel
from support.upstream import BIG, OPERATOR, connected_env, hub, operator, upstream

pytestmark = [pytest.mark.server, pytest.mark.network]  # node wheels: from PyPI once per machine


def _published(tmp_path: Path) -> tuple[HubServer, Path]:
    server = start_hub_server(tmp_path / "storage")
    wheel = operator(tmp_path / "operator")
    assert hub(["publish", str(wheel)], {"HUB_URL": server.url, "HUB_TOKEN": server.token,
                                         "PATH": ""}).returncode == 0
    return server, wheel


def test_a_mirror_killed_mid_download_resumes_and_fetches_nothing_twice(tmp_path: Path) -> None:
    server, _ = _published(tmp_path)
    try:
        with upstream(tmp_path / "upstream") as index:
            env = connected_env(server.url, server.token, index, tmp_path / "cache")
            size = (index.root / "files" / BIG).stat().st_size
            index.stall = Stall(BIG, after=size // 2)
            mirror = subprocess.Popen([sys.executable, "-m", "hub", "mirror", OPERATOR],
                                      env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            assert index.stall.reached.wait(120), "the mirror never reached the big file"
            part = tmp_path / "cache" / "mirror" / f"{BIG}.part"
            _wait_for(lambda: part.exists() and part.stat().st_size == size // 2)
            mirror.send_signal(signal.SIGKILL)  # with half of it on disk
            mirror.wait(30)
            index.stall.release.set()
            index.stall = None
            # the hub survived the kill: every row matches its file, nothing to repair
            assert hub(["admin", "check", "--storage", str(server.storage)], env
                       ).returncode == 0

            done = hub(["mirror", OPERATOR], env)
            assert done.returncode == 0, done.stderr
            wheels = sorted(index.root.joinpath("files").glob("*.whl"))
            for wheel in wheels:  # every byte of every wheel went out exactly once
                sent = index.fetched(wheel.name)
                assert sum(r.sent for r in sent) == wheel.stat().st_size, (wheel.name, sent)
                assert len(sent) == (2 if wheel.name == BIG else 1), (wheel.name, sent)
            resumed = index.fetched(BIG)[1]
            assert resumed.range == f"bytes={size // 2}-"
            already = done.stdout.split("; ")[-1]
            assert already.startswith(("1 already there", "2 already there")), done.stdout

            before = len(index.log)
            again = hub(["mirror", OPERATOR], env)  # idempotent: nothing asked upstream
            assert again.returncode == 0, again.stderr
            assert again.stdout.startswith("mirrored 0 file(s), 0 B, for mirrorop on 1 target")
            assert f"; {len(wheels)} already there" in again.stdout
            assert index.log[before:] == []
    finally:
        server.stop()
    restarted = start_hub_server(server.storage, token=server.token)  # recovery at start
    try:
        assert hub(["admin", "check", "--storage", str(server.storage)], {}).returncode == 0
        assert not (server.storage / "quarantine").exists()
        listed = hub(["admin", "check", "--storage", str(server.storage)], {}).stdout
        assert f"checked {len(wheels) + 1} file(s)" in listed  # the mirror and the operator
    finally:
        restarted.stop()


def _wait_for(condition: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_wheel_upstream_changed_after_the_lock_is_refused_in_one_line(tmp_path: Path
                                                                         ) -> None:
    server, _ = _published(tmp_path)
    try:
        with upstream(tmp_path / "upstream") as index:
            env = connected_env(server.url, server.token, index, tmp_path / "cache")
            assert hub(["lock", OPERATOR, "--hashes"], env).returncode == 0  # cached lock
            beta = index.root / "files" / "beta-2.0-py3-none-any.whl"
            index.wheel("beta", "2.0", modules={"beta/__init__.py": "EVIL = 1\n"})
            assert beta.read_bytes()  # same name, other bytes: what a tampered index serves
            done = hub(["mirror", OPERATOR], env)
            assert done.returncode == 1
            assert done.stderr.strip().splitlines()[-1].startswith(
                "error: cannot mirror beta 2.0 for Python 3.")
            assert "none with the lock's sha256" in done.stderr
            assert index.fetched(beta.name) == []  # refused before a byte of it was fetched
    finally:
        server.stop()


def test_an_operator_cannot_be_published_under_a_mirrored_name(tmp_path: Path) -> None:
    server, _ = _published(tmp_path)
    try:
        with upstream(tmp_path / "upstream") as index:
            env = connected_env(server.url, server.token, index, tmp_path / "cache")
            assert hub(["mirror", OPERATOR], env).returncode == 0
            alpha = operator_wheel(tmp_path / "evil", "alpha", "9.0")  # an operator "alpha"
            done = hub(["publish", str(alpha)], env)
            assert done.returncode == 1
            assert "project 'alpha' is a mirrored third-party project on this hub" in \
                done.stderr.strip().splitlines()[-1]
            assert requests.get(f"{server.url}/simple/alpha/", timeout=10).status_code == 404
            mirrored = requests.get(f"{server.url}/mirror/simple/alpha/", timeout=10).text
            assert "alpha-1.0-py3-none-any.whl" in mirrored and "9.0" not in mirrored
    finally:
        server.stop()


def test_mirror_refuses_to_run_offline(tmp_path: Path) -> None:
    done = hub(["mirror", OPERATOR], {"HUB_OFFLINE": "1", "HUB_URL": "http://127.0.0.1:9",
                                      "HUB_CONFIG": str(tmp_path / "none")})
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "target: " + done.stderr.split("target: ")[1].splitlines()[0],
        ("error: `hub mirror` copies from the upstream sources, so it runs on a connected "
         "machine: unset HUB_OFFLINE (or `offline` in the config)")]
