"""`hub mirror` (issue #14): idempotent, resumable after a SIGKILL, checked against the lock.

Against a local upstream index that logs every request (support.upstream), never PyPI.
"""

from __future__ import annotations

import fcntl
import os
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from support.hub_server import HubServer, start_hub_server
from support.index import Index, Stall, build_wheel, operator_wheel
from support.upstream import BIG, OPERATOR, connected_env, hub, operator, upstream

from hub import HubConnectionError, UpstreamError
from hub._mirror import MirrorPlan, copy_one, plan_mirror, run_mirror
from hub._progress import human
from hub.cli.mirror_cmd import targets_and_planner
from hub.client import HubClient

pytestmark = [pytest.mark.server, pytest.mark.network]  # node wheels: from PyPI once per machine


def _published(tmp_path: Path) -> tuple[HubServer, Path]:
    server = start_hub_server(tmp_path / "storage")
    wheel = operator(tmp_path / "operator")
    assert hub(["publish", str(wheel)], {"HUB_URL": server.url, "HUB_TOKEN": server.token,
                                         "PATH": ""}).returncode == 0
    return server, wheel


Connected = tuple[HubServer, Index, dict[str, str]]


@pytest.fixture
def connected(tmp_path: Path) -> Iterator[Connected]:
    """The connected side: a hub with the operator, the upstream index and the machine's
    settings (stopped after the test)."""
    server, _ = _published(tmp_path)
    try:
        with upstream(tmp_path / "upstream") as index:
            yield server, index, connected_env(server.url, server.token, index,
                                               tmp_path / "cache")
    finally:
        server.stop()


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


def test_a_wheel_upstream_changed_after_the_lock_is_refused_in_one_line(
        connected: Connected) -> None:
    _, index, env = connected
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


def test_an_operator_cannot_be_published_under_a_mirrored_name(connected: Connected,
                                                                tmp_path: Path) -> None:
    server, _, env = connected
    assert hub(["mirror", OPERATOR], env).returncode == 0
    alpha = operator_wheel(tmp_path / "evil", "alpha", "9.0")  # an operator "alpha"
    done = hub(["publish", str(alpha)], env)
    assert done.returncode == 1
    assert "project 'alpha' is a mirrored third-party project on this hub" in \
        done.stderr.strip().splitlines()[-1]
    assert requests.get(f"{server.url}/simple/alpha/", timeout=10).status_code == 404
    mirrored = requests.get(f"{server.url}/mirror/simple/alpha/", timeout=10).text
    assert "alpha-1.0-py3-none-any.whl" in mirrored and "9.0" not in mirrored


@pytest.mark.parametrize("setting", ["HUB_OFFLINE", "the config file"])
def test_mirror_refuses_to_run_offline(tmp_path: Path, setting: str) -> None:
    config = tmp_path / "hub.toml"
    config.write_text("[hub]\noffline = true\n" if setting == "the config file" else "")
    env = {"HUB_URL": "http://127.0.0.1:9", "HUB_CONFIG": str(config),
           **({"HUB_OFFLINE": "1"} if setting == "HUB_OFFLINE" else {})}
    done = hub(["mirror", OPERATOR], env)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "target: " + done.stderr.split("target: ")[1].splitlines()[0],
        ("error: `hub mirror` copies from the upstream sources, so it runs on a connected "
         "machine: unset HUB_OFFLINE (or `offline` in the config)")]


@pytest.mark.parametrize("left", ["finished", "cut"])
def test_a_spooled_download_of_another_lock_is_never_mirrored(connected: Connected,
                                                              tmp_path: Path, left: str
                                                              ) -> None:
    server, index, env = connected
    right = index.root / "files" / BIG
    other = build_wheel(tmp_path / "other", "gamma", "0.5",  # same name, other bytes
                        modules={"gamma/__init__.py": f"B = {os.urandom(1 << 20)!r}\n"})
    spool = tmp_path / "cache" / "mirror"
    spool.mkdir(parents=True)
    planted = spool / (BIG if left == "finished" else f"{BIG}.part")
    data = other.read_bytes()  # an earlier run's, for another lock
    planted.write_bytes(data if left == "finished" else data[:len(data) // 2])
    done = hub(["mirror", OPERATOR], env)
    assert done.returncode == 0, done.stderr
    served = requests.get(f"{server.url}/mirror/files/gamma/{BIG}", timeout=30)
    assert served.content == right.read_bytes() != data
    asked = [r.range for r in index.fetched(BIG)]  # a cut one is resumed, then refetched
    assert asked == ([None] if left == "finished" else [f"bytes={len(data) // 2}-", None])
    assert list(spool.iterdir()) == []


def test_spooled_downloads_the_hub_already_holds_are_cleaned_up(connected: Connected,
                                                                tmp_path: Path) -> None:
    _, index, env = connected
    assert hub(["mirror", OPERATOR], env).returncode == 0
    spool = tmp_path / "cache" / "mirror"
    beta = index.root / "files" / "beta-2.0-py3-none-any.whl"
    (spool / beta.name).write_bytes(beta.read_bytes())  # a kill after PUT, before unlink
    (spool / f"{BIG}.part").write_bytes(b"half")
    (spool / "notes.txt").write_text("not ours")
    before = len(index.log)
    again = hub(["mirror", OPERATOR], env)
    assert again.returncode == 0, again.stderr
    assert sorted(p.name for p in spool.iterdir()) == ["notes.txt"]
    assert index.log[before:] == []


@pytest.fixture
def planned(connected: Connected, monkeypatch: pytest.MonkeyPatch
            ) -> tuple[MirrorPlan, HubClient, Index]:
    """A mirror plan made in this process (as `hub mirror` makes it)."""
    _, index, env = connected
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    found, planner, client = targets_and_planner((), (), (), None)
    return plan_mirror([OPERATOR], found, client, planner), client, index


def test_files_another_run_mirrored_meanwhile_count_as_already_there(
        planned: tuple[MirrorPlan, HubClient, Index], tmp_path: Path) -> None:
    plan, client, _ = planned
    copies, present = plan.copies, len(plan.present)
    early = copies[:2]  # a run at the same time copies two of them first
    for copy in early:
        assert copy_one(copy, client, tmp_path / "other-spool", requests.Session(),
                        lambda n: None)[1]
    summary = run_mirror(plan, client, tmp_path / "spool", progress=False)
    sizes = {c.source.filename: c.source.size or 0 for c in copies}
    late = sum(sizes.values()) - sum(sizes[c.source.filename] for c in early)
    assert (summary.files, summary.bytes) == (len(copies) - 2, late)
    assert summary.already == present + 2
    assert summary.line().startswith(f"mirrored {len(copies) - 2} file(s), {human(late)}, ")
    assert f"; {present + 2} already there" in summary.line()


def test_an_upstream_that_stops_answering_is_one_line_naming_it(
        planned: tuple[MirrorPlan, HubClient, Index], tmp_path: Path) -> None:
    plan, client, index = planned
    fetched = [c for c in plan.copies if c.source.url.startswith(index.url)]
    index.stall = Stall(fetched[0].source.filename, after=0)  # then the connection closes
    index.stall.release.set()
    with pytest.raises(UpstreamError) as raised:
        run_mirror(plan, client, tmp_path / "spool", progress=False)
    assert raised.value.url == fetched[0].source.url
    assert str(raised.value).startswith(f"cannot fetch {fetched[0].source.url} from the "
                                        "upstream source: ")
    assert "\n" not in str(raised.value) and not isinstance(raised.value, HubConnectionError)


def _with_tty_stderr(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run `hub ARGS` with stderr on a pseudo-terminal (as in a shell); its exit code and
    what it wrote there."""
    leader, follower = os.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 100 columns
    process = subprocess.Popen([sys.executable, "-m", "hub", *args], env=env,
                               stdout=subprocess.DEVNULL, stderr=follower)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child closed its end
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    return process.wait(60), b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.parametrize("as_json", [False, True])
def test_the_progress_bar_shows_on_a_terminal_and_never_with_json(connected: Connected,
                                                                  as_json: bool) -> None:
    _, _, env = connected
    code, stderr = _with_tty_stderr(["mirror", OPERATOR, *(["--json"] * as_json)], env)
    assert code == 0, stderr
    assert ("mirroring:" in stderr and "%|" in stderr) is not as_json, stderr
    assert stderr.startswith("target: Python ")


def test_without_a_terminal_no_bar_is_printed(connected: Connected) -> None:
    _, _, env = connected
    done = hub(["mirror", OPERATOR], env)  # stderr is a pipe
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [line for line in done.stderr.splitlines()
                                        if line.startswith("target: ")]
