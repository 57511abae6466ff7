"""`hub bundle` and `hub import` (issue #14): operators and their mirror across an air gap.

The connected side: a hub with an operator, mirrored from a local upstream index
(support.upstream), bundled once for the module. The air-gapped side: an empty hub
and a machine whose pip and uv point at a dead port (support.airgap), HUB_OFFLINE=1.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from support.airgap import dead_index_env
from support.app import AppServer
from support.hub_server import start_hub_server
from support.upstream import OPERATOR, connected_env, hub, operator, upstream
from uv import find_uv_bin

from hub._bundle import archive_sha256
from hub.server import Storage, check, create_token, recover
from hub.server._import import import_file

pytestmark = [pytest.mark.server, pytest.mark.network]  # node wheels: from PyPI once per machine


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The bundle of the operator, made on the connected side after `hub mirror`."""
    root = tmp_path_factory.mktemp("connected")
    server = start_hub_server(root / "storage")
    try:
        with upstream(root / "upstream") as index:
            env = connected_env(server.url, server.token, index, root / "cache")
            assert hub(["publish", str(operator(root / "operator"))], env).returncode == 0
            too_early = hub(["bundle", OPERATOR, "-o", str(root / "early.bundle")], env)
            assert too_early.returncode == 1 and "run `hub mirror mirrorop --python 3." in \
                too_early.stderr.strip().splitlines()[-1]
            assert hub(["mirror", OPERATOR], env).returncode == 0
            done = hub(["bundle", OPERATOR, "-o", str(root / "ops.bundle")], env)
            assert done.returncode == 0, done.stderr
            assert done.stdout.startswith(f"wrote {root / 'ops.bundle'}: 1 operator wheel(s) "
                                          "and 8 mirrored wheel(s)")
            as_json = hub(["bundle", OPERATOR, "-o", str(root / "again.bundle"), "--json"], env)
            summary = json.loads(as_json.stdout)
            assert summary == {"path": str(root / "again.bundle"), "operators": 1,
                               "mirrored": 8, "bytes": summary["bytes"],
                               "sha256": archive_sha256(root / "again.bundle")}
        yield root / "ops.bundle"
    finally:
        server.stop()


def _air_gapped(tmp_path: Path, hub_url: str, token: str) -> dict[str, str]:
    return {**dead_index_env(tmp_path / "dead"), "HUB_URL": hub_url, "HUB_TOKEN": token,
            "HUB_OFFLINE": "1", "HUB_CACHE_DIR": str(tmp_path / "cache"),
            "HUB_CONFIG": str(tmp_path / "none"), "PATH": "/usr/bin:/bin"}


def test_bundle_imported_into_an_empty_hub_installs_with_the_hub_as_the_only_index(
        bundle: Path, tmp_path: Path) -> None:
    with AppServer(tmp_path / "storage") as empty:
        env = _air_gapped(tmp_path, empty.url, empty.token)
        done = hub(["import", str(bundle)], env)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("imported 1 operator wheel(s) and 8 mirrored wheel(s)")
        again = hub(["import", str(bundle)], env)
        assert again.stdout.strip().endswith("9 already there")  # importing twice: a no-op

        venv = tmp_path / "venv"
        subprocess.run([find_uv_bin(), "venv", "-q", str(venv)], check=True)
        installed = hub(["install", OPERATOR, "--python", str(venv / "bin" / "python")], env)
        assert installed.returncode == 0, installed.stderr
        assert "(operators not listed: that environment has no opshub)" in installed.stdout
        listed = subprocess.run([find_uv_bin(), "pip", "list", "--python", str(venv / "bin" /
                                 "python"), "--format", "json"], capture_output=True, text=True,
                                check=True).stdout
        assert {p["name"] for p in json.loads(listed)} == {OPERATOR, "alpha", "beta", "gamma"}
        locked = hub(["lock", OPERATOR], env)  # locks resolve against the hub alone too
        assert locked.returncode == 0, locked.stderr
        assert locked.stdout.split() == ["alpha==1.0", "beta==2.0", "gamma==0.5"]
    assert hub(["admin", "check", "--storage", str(tmp_path / "storage")], env).returncode == 0


def _state(storage: Path) -> tuple[list[str], bytes, list[str]]:
    files = sorted(str(p.relative_to(storage)) for folder in ("files", "mirror", "incoming")
                   for p in (storage / folder).rglob("*"))
    store = Storage(storage)
    rows = [f.filename for f in store.files()] + [f.filename for f in store.mirror.files()]
    return files, (storage / "journal.jsonl").read_bytes(), rows


def _altered(bundle: Path, tmp_path: Path, where: str) -> Path:
    data = bytearray(bundle.read_bytes())
    with tarfile.open(bundle) as tar:
        members = {m.name: m for m in tar.getmembers()}
    big = members["mirror/uv-0.13.9-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"]
    offset = {"a wheel": big.offset_data + big.size // 2,
              "the manifest": members["manifest.json"].offset_data + 40,
              "a tar header": big.offset + 120,  # its mode field
              "the archive's own sum": members["SHA256"].offset_data + 5,
              "the end padding": len(data) - 100}[where]
    data[offset] = (data[offset] + 1) % 256
    path = tmp_path / f"altered-{where.replace(' ', '-')}.bundle"
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("where", ["a wheel", "the manifest", "a tar header",
                                   "the archive's own sum", "the end padding"])
def test_a_bundle_with_one_altered_byte_is_refused_whole_and_the_hub_is_unchanged(
        bundle: Path, tmp_path: Path, where: str) -> None:
    bad = _altered(bundle, tmp_path, where)
    with AppServer(tmp_path / "storage") as target:
        before = _state(tmp_path / "storage")
        env = _air_gapped(tmp_path, target.url, target.token)
        done = hub(["import", str(bad)], env)  # the client refuses before uploading
        assert done.returncode == 1
        assert done.stderr.strip().splitlines()[-1].startswith(
            f"error: bundle {bad.name} is refused whole: ")
        answer = requests.post(f"{target.url}/api/import", data=bad.read_bytes(), timeout=60,
                               auth=("__token__", target.token))  # and so does the hub
        assert answer.status_code == 400
        assert answer.json()["error"].startswith("the uploaded bundle is refused whole: ")
        assert _state(tmp_path / "storage") == before


def test_importing_a_bundle_needs_a_token_for_every_project(bundle: Path, tmp_path: Path
                                                             ) -> None:
    with AppServer(tmp_path / "storage") as target:
        scoped = create_token(target.app.state.storage, [OPERATOR])
        done = hub(["import", str(bundle)], _air_gapped(tmp_path, target.url, scoped))
        assert done.returncode == 1
        assert "importing a bundle needs a token for every project" in done.stderr
        assert Storage(tmp_path / "storage").mirror.files() == []


@pytest.mark.parametrize("damage", ["cut short", "random bytes", "empty"])
@pytest.mark.parametrize("checked", [False, True])
def test_a_file_that_is_no_bundle_is_refused_in_one_line(bundle: Path, tmp_path: Path,
                                                         damage: str, checked: bool) -> None:
    data = {"cut short": bundle.read_bytes()[:bundle.stat().st_size // 2],
            "random bytes": os.urandom(50_000), "empty": b""}[damage]
    bad = tmp_path / "bad.bundle"
    bad.write_bytes(data)
    with AppServer(tmp_path / "storage") as target:
        before = _state(tmp_path / "storage")
        sha = ["--sha256", hashlib.sha256(data).hexdigest()] if checked else []
        done = hub(["import", str(bad), *sha], _air_gapped(tmp_path, target.url, target.token))
        assert done.returncode == 1
        assert done.stderr.splitlines() == [done.stderr.strip()], done.stderr  # one line
        assert done.stderr.startswith("error: bundle bad.bundle is refused whole: ")
        assert _state(tmp_path / "storage") == before


@contextmanager
def _unwritable(path: Path) -> Iterator[None]:
    """``path`` refuses every write while the block runs (root ignores file modes, so
    root makes it immutable)."""
    if os.geteuid() != 0:
        path.chmod(0o444)
    elif subprocess.run(["chattr", "+i", str(path)], capture_output=True,
                        check=False).returncode != 0:
        pytest.skip("running as root where `chattr +i` is not allowed")
    try:
        yield
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(path)], capture_output=True, check=True)
        path.chmod(0o600)


def test_an_import_whose_journal_cannot_be_written_leaves_the_hub_as_it_was(
        bundle: Path, tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    with AppServer(storage) as target:
        env = _air_gapped(tmp_path, target.url, target.token)
        before = _state(storage)
        with _unwritable(storage / "journal.jsonl"):  # after the files are in place
            done = hub(["import", str(bundle)], env)
        assert done.returncode == 1
        assert done.stderr.strip().splitlines() == [
            f"error: POST {target.url}/api/import failed with 500: internal error while "
            "answering POST /api/import; the details are in the hub's log"]
        assert _state(storage) == before  # files/, mirror/, incoming/, journal, rows
        again = hub(["import", str(bundle)], env)  # once it can be written: all of it
        assert again.returncode == 0, again.stderr
        assert again.stdout.startswith("imported 1 operator wheel(s) and 8 mirrored wheel(s)")


_PAUSED_IMPORT = """
import sys, time
from pathlib import Path
from hub.server import Storage
from hub.server._import import import_file
from hub.server._journal import Journal

def pause(self, *events):  # the commit point: its files are in place, nothing journaled
    Path(sys.argv[3]).touch()
    time.sleep(3600)

Journal.append = pause
import_file(Storage(Path(sys.argv[1])), Path(sys.argv[2]))
"""


def test_an_import_killed_after_placing_its_files_is_undone_at_the_next_start(
        bundle: Path, tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    store, _ = recover(storage)
    create_token(store)
    before = _state(storage)
    paused = tmp_path / "paused"
    importing = subprocess.Popen([sys.executable, "-c", _PAUSED_IMPORT, str(storage),
                                  str(bundle), str(paused)])
    try:
        deadline = time.monotonic() + 120
        while not paused.exists():
            assert importing.poll() is None and time.monotonic() < deadline, "never paused"
            time.sleep(0.05)
        assert len(_placed(storage)) == 9
    finally:
        importing.kill()  # SIGKILL: no clean-up of its own
        importing.wait(30)
    _, report = recover(storage)  # what `hub serve` does at start
    assert _state(storage) == before
    assert report.reindexed == [] and report.removed_temporaries == 9


def _placed(storage: Path) -> list[Path]:
    return [p for area in ("files", "mirror") for p in (storage / area).rglob("*.whl")]


@pytest.mark.parametrize("setting", ["HUB_OFFLINE", "the config file"])
def test_an_offline_install_of_what_is_not_mirrored_is_one_line(tmp_path: Path, setting: str
                                                                ) -> None:
    with AppServer(tmp_path / "storage") as plain:  # the operator, and no mirror
        published = hub(["publish", str(operator(tmp_path / "operator"))],
                        {"HUB_URL": plain.url, "HUB_TOKEN": plain.token, "PATH": ""})
        assert published.returncode == 0, published.stderr
        env = _air_gapped(tmp_path, plain.url, plain.token)
        if setting == "the config file":
            del env["HUB_OFFLINE"]
            env["HUB_CONFIG"] = str(tmp_path / "hub.toml")
            (tmp_path / "hub.toml").write_text("[hub]\noffline = true\n")
        venv = tmp_path / "venv"
        subprocess.run([find_uv_bin(), "venv", "-q", str(venv)], check=True)
        python = venv / "bin" / "python"
        done = hub(["install", OPERATOR, "--python", str(python)], env)
        assert done.returncode == 1
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        version = subprocess.run([python, "-c", "import platform; print(platform."
                                  "python_version())"], capture_output=True, text=True,
                                 check=True).stdout.strip()
        assert re.fullmatch(
            rf"error: offline: (alpha|gamma) is not mirrored on the hub at {plain.url} for the "
            rf"environment of {re.escape(str(python))}, which is the only index \(HUB_OFFLINE\)"
            rf" — on a connected machine run `hub mirror {OPERATOR} --python "
            rf"{re.escape(version)} --platform linux/x86_64 --accelerator cpu` \(then `hub "
            r"bundle`/`hub import` if that hub is not this one\)", done.stderr.strip())
        listed = subprocess.run([find_uv_bin(), "pip", "list", "--python", str(python),
                                 "--format", "json"], capture_output=True, text=True,
                                check=True).stdout
        assert json.loads(listed) == []  # nothing installed


_KILLED_AT_THE_JOURNAL = """
import os, signal, sys
from pathlib import Path
from hub.server import Storage
from hub.server._import import import_file
store, written = Storage(Path(sys.argv[1])), int(sys.argv[3])
append = store.journal.append
def killed(*events):  # SIGKILL with `written` of the import's lines in the journal
    if written:
        append(*events[:written if written > 0 else len(events)])
    os.kill(os.getpid(), signal.SIGKILL)
store.journal.append = killed
import_file(store, Path(sys.argv[2]))
"""


@pytest.mark.parametrize(("written", "kept"), [(0, False), (4, False), (-1, True)],
                         ids=["before its journal lines", "midway through them",
                              "after them, before COMMIT"])
def test_an_import_killed_at_its_journal_is_settled_whole_at_the_next_start(
        bundle: Path, tmp_path: Path, written: int, kept: bool) -> None:
    storage = tmp_path / "storage"
    store, _ = recover(storage)
    create_token(store)
    before = _state(storage)
    killed = subprocess.run([sys.executable, "-c", _KILLED_AT_THE_JOURNAL, str(storage),
                             str(bundle), str(written)], capture_output=True, check=False)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert len(_placed(storage)) == 9  # every file was in place when it died
    _, report = recover(storage)
    if kept:  # the journal holds the whole import: recovery indexes all of it
        assert sorted(report.reindexed) == sorted(p.name for p in _placed(storage))
        assert report.unjournaled == [] and len(_state(storage)[2]) == 9
        assert check(storage).ok
    else:
        assert _state(storage) == before and report.removed_temporaries == 9


class _CommitFails:
    """A connection whose COMMIT fails as on a full disk (the fault is injected: SQLite
    cannot be made to fail its COMMIT on purpose here)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if sql == "COMMIT":
            raise sqlite3.OperationalError("database or disk is full")
        return self.db.execute(sql, *args)


def test_an_import_whose_commit_fails_puts_its_files_and_journal_lines_back(
        bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    storage = tmp_path / "storage"
    store, _ = recover(storage)
    create_token(store)
    before, connect = _state(storage), store.connect

    @contextmanager
    def failing(write: bool = False) -> Iterator[Any]:
        with connect(write) as db:
            yield _CommitFails(db) if write else db

    monkeypatch.setattr(store, "connect", failing)
    with pytest.raises(sqlite3.OperationalError):
        import_file(store, bundle)  # after its files were placed and its lines journaled
    assert _state(storage) == before
