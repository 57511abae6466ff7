"""Recovery never deletes what it cannot explain; `hub admin check` verifies every file (#11).

In-process attacks on the storage; the restart of a real `hub serve` after each
database attack is in test_database_attacks.py.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient
from support.app import publish
from support.crafted import wheel_files, write_wheel

from hub.cli import main
from hub.server import Storage, check, check_token, create_app, create_token, recover
from hub.server._journal import JOURNAL_FILE


def _store_with(tmp_path: Path, *versions: str) -> Storage:
    store = Storage(tmp_path / "st")
    for version in versions:
        publish(store, write_wheel(tmp_path, wheel_files("opshub-demo", version)))
    return store


def test_a_row_less_wheel_is_re_indexed_with_its_journaled_time_and_yank(tmp_path: Path):
    store = _store_with(tmp_path, "1.0", "2.0")
    store.set_yanked("opshub-demo", "2.0", True, "bad sums")
    before = {r.filename: r for r in store.files()}
    with sqlite3.connect(store.db_path) as db:  # the row of 2.0 is lost, its file is not
        db.execute("DELETE FROM files WHERE version = '2.0'")
    store, report = recover(store.root)
    after = {r.filename: r for r in store.files()}
    assert after == before  # upload time, yank and reason all back
    assert report.reindexed == ["opshub_demo-2.0-py3-none-any.whl"] and not report.unjournaled
    assert report.lines() == [
        "recovery: restored the yank state of 1 version(s) from the journal",
        ("recovery: re-indexed 1 file(s) that had no database row from their own METADATA: "
         "opshub_demo-2.0-py3-none-any.whl")]


def test_without_a_journal_the_report_says_what_could_not_be_recovered(tmp_path: Path):
    store = _store_with(tmp_path, "1.0")
    store.set_yanked("opshub-demo", "1.0", True, "bad")
    (store.root / JOURNAL_FILE).unlink()
    store.db_path.unlink()
    store, report = recover(store.root)
    [record] = store.files()
    assert record.filename == "opshub_demo-1.0-py3-none-any.whl" and not record.yanked
    assert report.unjournaled == [record.filename]
    assert any("a yank of them could not be recovered" in line for line in report.lines())
    assert (store.root / JOURNAL_FILE).exists()  # journaled again for the next loss


def test_an_old_storage_without_a_journal_gets_one_from_its_database(tmp_path: Path):
    store = _store_with(tmp_path, "1.0")
    token = create_token(store)
    store.set_yanked("opshub-demo", "1.0", True, "old yank")
    (store.root / JOURNAL_FILE).unlink()  # as a hub made before the journal existed
    _, report = recover(store.root)
    assert report.journal_written == 3  # the file, its yank, the token
    store.db_path.unlink()  # now the database is lost too: nothing is
    store, _ = recover(store.root)
    assert store.files()[0].yanked_reason == "old yank" and check_token(store, token)


def test_files_that_are_not_wheels_of_their_folder_go_to_quarantine(tmp_path: Path):
    store = _store_with(tmp_path, "1.0")
    folder = store.files_dir / "opshub-demo"
    (folder / "notes.txt").write_text("not a wheel")
    other = write_wheel(tmp_path, wheel_files("opshub-other", "1.0"))
    (folder / other.name).write_bytes(other.read_bytes())  # a valid wheel, wrong folder
    (store.files_dir / "loose.whl").write_bytes(b"x")
    (store.incoming_dir / ".tmp-half").write_bytes(b"half an upload")
    store, report = recover(store.root)
    moved = sorted(p.name for p, _ in report.quarantined)
    assert moved == ["loose.whl", "notes.txt", other.name]
    assert all(p.is_file() and p.is_relative_to(store.quarantine_dir)
               for p, _ in report.quarantined)  # moved, never deleted
    assert report.removed_temporaries == 1 and not list(store.incoming_dir.iterdir())
    assert [r.filename for r in store.files()] == ["opshub_demo-1.0-py3-none-any.whl"]


def test_symlinks_are_never_followed_out_of_the_storage(tmp_path: Path):
    store = _store_with(tmp_path, "1.0")
    outside = tmp_path / "outside"
    outside.mkdir()
    precious = write_wheel(outside, wheel_files("opshub-evil", "1.0"))
    (store.files_dir / "opshub-evil").symlink_to(outside)  # a project folder elsewhere
    link = store.files_dir / "opshub-demo" / "opshub_demo-9.0-py3-none-any.whl"
    link.symlink_to(precious)
    store, report = recover(store.root)
    assert precious.read_bytes() and outside.is_dir()  # nothing outside was touched
    assert set(report.not_followed) == {store.files_dir / "opshub-evil", link}
    assert [r.project for r in store.files()] == ["opshub-demo"]  # the links index nothing
    with pytest.raises(ValueError, match="never follows links"):
        store.path_of("opshub-evil", precious.name)


def test_a_damaged_database_is_kept_in_quarantine_and_rebuilt(tmp_path: Path):
    store = _store_with(tmp_path, "1.0", "2.0")
    token = create_token(store)
    store.db_path.write_bytes(b"not a database at all" * 100)
    store, report = recover(store.root)
    assert report.database_moved and report.database_moved.read_bytes().startswith(b"not a")
    assert len(store.files()) == 2 and check_token(store, token)
    assert "the database was damaged" in report.lines()[0]


def test_the_local_token_survives_a_lost_database_and_journal(tmp_path: Path):
    store = _store_with(tmp_path)
    token = create_token(store)
    (store.root / "local-token").write_text(token + "\n")
    store.db_path.unlink()
    (store.root / JOURNAL_FILE).unlink()
    store, report = recover(store.root)
    assert check_token(store, token) and report.local_token_restored


def test_a_revoked_token_stays_revoked_after_a_rollback(tmp_path: Path):
    store = _store_with(tmp_path)
    token = create_token(store)
    backup = store.db_path.read_bytes()
    store.revoke_token(store.tokens()[0].sha256)
    store.db_path.write_bytes(backup)  # the backup still holds the token
    assert check_token(Storage(store.root), token)  # the rollback brought it back...
    store, _ = recover(store.root)
    assert not check_token(store, token)  # ...and the journal's revocation wins


def test_a_listed_file_missing_from_storage_is_a_404_without_internals(tmp_path: Path):
    store = _store_with(tmp_path, "1.0")
    path = store.files_dir / "opshub-demo" / "opshub_demo-1.0-py3-none-any.whl"
    path.unlink()
    app = create_app(store.root)
    assert app.state.recovery.missing == ["opshub-demo/" + path.name]
    response = TestClient(app).get(f"/files/opshub-demo/{path.name}")
    assert response.status_code == 404 and "missing from the hub's storage" in response.text
    assert str(tmp_path) not in response.text


def test_check_verifies_every_file_against_its_row_and_sha256(tmp_path: Path):
    store = _store_with(tmp_path, "1.0", "2.0", "3.0")
    result = CliRunner().invoke(main, ["admin", "check", "--storage", str(store.root)])
    assert result.exit_code == 0 and "checked 3 file(s)" in result.output
    folder = store.files_dir / "opshub-demo"
    changed = folder / "opshub_demo-1.0-py3-none-any.whl"
    changed.write_bytes(changed.read_bytes() + b"tampered")
    (folder / "opshub_demo-2.0-py3-none-any.whl").unlink()
    (folder / "stray.whl").write_bytes(b"?")
    report = check(store.root)
    assert report.checked == 3 and len(report.problems) == 3, report.problems
    assert "the file changed: sha256" in report.problems[0]
    assert "missing from files/" in report.problems[1] and "stray.whl" in report.problems[2]
    result = CliRunner().invoke(main, ["admin", "check", "--storage", str(store.root)])
    assert result.exit_code == 1 and "3 problem(s)" in result.output
    assert os.path.exists(folder / "stray.whl")  # the check changes nothing
