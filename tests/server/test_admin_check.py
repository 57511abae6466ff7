"""`hub admin check` only looks (#11 audit): it opened the storage for writing, so it
created folders and a database where there was none and migrated an older hub's."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from click.testing import CliRunner
from support.app import publish
from support.crafted import wheel_files, write_wheel
from support.faults import tree

from hub.cli import main
from hub.server import Storage, check

SQLITE_OWN = {"hub.sqlite3-wal", "hub.sqlite3-shm"}  # made by any reader of a WAL database


def test_check_changes_nothing_in_the_storage(tmp_path: Path) -> None:
    store = Storage(tmp_path / "st")
    publish(store, write_wheel(tmp_path, wheel_files("opshub-demo", "1.0")))
    for folder in (store.mirror_dir, store.incoming_dir):
        folder.rmdir()  # (an older hub made neither)
    before = tree(store.root)
    result = CliRunner().invoke(main, ["admin", "check", "--storage", str(store.root)])
    assert result.exit_code == 0 and "checked 1 file(s)" in result.stdout, result.output
    after = tree(store.root)
    assert {k: v for k, v in after.items() if k not in SQLITE_OWN} == before


def test_check_never_migrates_an_older_hubs_database(tmp_path: Path) -> None:
    store = Storage(tmp_path / "st")
    with sqlite3.connect(store.db_path) as db:  # as before token scopes
        db.execute("DROP TABLE mirror_files")
        db.execute("ALTER TABLE tokens DROP COLUMN projects")
    schema = _schema(store.db_path)
    report = check(store.root)
    assert report.problems == [
        "the database was made by an older hub; run `hub admin recover` (or start `hub "
        "serve`), then check again: it upgrades the database"]
    assert _schema(store.db_path) == schema


def test_check_of_a_storage_without_a_database_says_so(tmp_path: Path) -> None:
    store = Storage(tmp_path / "st")
    store.db_path.unlink()
    report = check(store.root)
    assert len(report.problems) == 1 and "hub.sqlite3 is missing" in report.problems[0]
    assert not store.db_path.exists()


def _schema(db_path: Path) -> list[tuple[str, ...]]:
    with sqlite3.connect(db_path) as db:
        return sorted(db.execute("SELECT type, name, sql FROM sqlite_master").fetchall())
