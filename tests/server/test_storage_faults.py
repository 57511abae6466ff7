"""Faults under the storage, each written as the attack of the #11 audit: a torn journal
line, a locked or read-only database, a journal write that fails mid-upload, a folder
inside a project's folder. Nothing published is lost, nothing unpublished appears, and
every refusal is one line.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from starlette.testclient import TestClient
from support.app import InProcessHub, publish
from support.crafted import wheel_files, write_wheel
from support.faults import sqlite_locked, tree, unwritable

from hub.cli import main
from hub.server import Storage, check, check_token, create_app, create_token, recover
from hub.server import _storage as storage_module
from hub.server._storage import token_hash

DEMO = "opshub-demo"


def _store_with(tmp_path: Path, *versions: str) -> Storage:
    store = Storage(tmp_path / "st")
    for version in versions:
        publish(store, write_wheel(tmp_path, wheel_files(DEMO, version)))
    return store


def _recover_cli(store: Storage) -> Result:
    return CliRunner().invoke(main, ["admin", "recover", "--storage", str(store.root)])


def _one_line(result: Result) -> str:
    assert isinstance(result.exception, SystemExit), result.exception  # not a traceback
    assert result.exit_code == 1 and result.stderr.count("\n") == 1, result.stderr
    return result.stderr


# --- C: a torn journal line ----------------------------------------------------------


def test_a_torn_journal_line_never_swallows_the_next_event(tmp_path: Path) -> None:
    store = _store_with(tmp_path, "1.0")
    token = create_token(store)
    backup = store.db_path.read_bytes()  # a backup in which the token is valid
    with open(store.journal.path, "ab") as journal:  # a crash in the middle of a line
        journal.write(b'{"event": "yank", "project": "opshub-demo", "vers')
    store.revoke_token(token_hash(token))  # the next event, appended after the torn line
    state = store.journal.read()
    assert token_hash(token) in state.revoked and state.unreadable == 1
    store.db_path.write_bytes(backup)  # rolled back: this database still holds the token
    store, report = recover(store.root)
    assert not check_token(store, token)  # the revocation survived the torn line
    assert [r.version for r in store.files()] == ["1.0"] and report.journal_unreadable == 1


# --- D: a database that is locked or read-only is not damaged ----------------------------


def test_a_locked_database_is_one_line_and_never_moved(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    store = _store_with(tmp_path, "1.0")
    monkeypatch.setattr(storage_module, "BUSY_TIMEOUT_S", 0.2)  # not 30 s of waiting
    before = tree(store.root)
    with sqlite_locked(store.db_path):
        line = _one_line(_recover_cli(store))
    assert "is locked by another process" in line and "nothing was moved" in line
    after = tree(store.root)
    assert after.pop("hub.lock") == b"" and after == before  # (the lock recover takes)
    assert not store.quarantine_dir.exists()
    assert [r.version for r in Storage(store.root).files()] == ["1.0"]


def test_a_read_only_database_is_one_line_and_never_moved(tmp_path: Path) -> None:
    store = _store_with(tmp_path, "1.0", "2.0")
    with sqlite3.connect(store.db_path) as db:  # a row lost: recovery must write
        db.execute("DELETE FROM files WHERE version = '2.0'")
    with unwritable(store.db_path):
        line = _one_line(_recover_cli(store))
    assert "is read-only" in line and "make it and the storage folder writable" in line
    assert store.db_path.is_file() and not store.quarantine_dir.exists()
    _, report = recover(store.root)  # writable again: the row comes back
    assert report.reindexed == ["opshub_demo-2.0-py3-none-any.whl"]


# --- G: a commit that fails publishes nothing ---------------------------------------------


def test_an_upload_whose_journal_write_fails_leaves_nothing(hub_app: InProcessHub,
                                                            tmp_path: Path) -> None:
    wheel = write_wheel(tmp_path, wheel_files("late-op", "1.0"))
    with unwritable(hub_app.storage / "journal.jsonl"):
        failed = hub_app.upload(wheel)
    assert failed.status_code == 500 and "details are in the hub's log" in failed.text
    assert not (hub_app.storage / "files" / "late-op").exists()  # nothing to publish later
    assert hub_app.store.files("late-op") == []
    retried = hub_app.upload(wheel)  # not "409: a file without a record"
    assert retried.status_code == 200, retried.text
    served = TestClient(create_app(hub_app.storage)).get(
        "/files/late-op/late_op-1.0-py3-none-any.whl")  # after a restart
    assert hashlib.sha256(served.content).hexdigest() == hashlib.sha256(
        wheel.read_bytes()).hexdigest()


def test_a_failed_upload_is_never_published_by_the_next_start(hub_app: InProcessHub,
                                                              tmp_path: Path) -> None:
    wheel = write_wheel(tmp_path, wheel_files("late-op", "1.0"))
    with unwritable(hub_app.storage / "journal.jsonl"):
        assert hub_app.upload(wheel).status_code == 500
    app = create_app(hub_app.storage)  # the client was told it failed: so it stays
    assert app.state.recovery.reindexed == []
    assert TestClient(app).get("/simple/late-op/").status_code == 404


# --- K: a folder inside a project's folder ---------------------------------------------


def test_a_folder_inside_a_project_folder_is_reported_and_quarantined(tmp_path: Path) -> None:
    store = _store_with(tmp_path, "1.0")
    nested = store.files_dir / DEMO / "nested"
    nested.mkdir()
    (nested / "opshub_demo-9.0-py3-none-any.whl").write_bytes(b"hidden")
    problems = check(store.root).problems
    assert problems == [f"files/{DEMO}/nested: a folder inside a project's folder; the next "
                        "`hub serve` or `hub admin recover` moves it to quarantine/"]
    store, report = recover(store.root)
    [(moved, why)] = report.quarantined
    assert moved.is_dir() and (moved / "opshub_demo-9.0-py3-none-any.whl").read_bytes()
    assert "a folder inside a project's folder" in why and not nested.exists()
    assert check(store.root).ok
