"""Scoped tokens, `hub token list` and `hub token revoke` (#11: any token yanked any project)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.app import InProcessHub, store_state
from support.crafted import wheel_files, write_wheel

from hub._exceptions import HubError
from hub.cli import main
from hub.server import Storage, create_token, find_token, revoke_token


def test_a_scoped_token_changes_only_its_projects(hub_app: InProcessHub, tmp_path: Path) -> None:
    hub_app.upload(write_wheel(tmp_path, wheel_files("other-op", "1.0")))
    scoped = create_token(hub_app.store, ["Mine_Op"])  # stored normalized
    assert hub_app.upload(write_wheel(tmp_path, wheel_files("mine-op", "1.0")),
                          token=scoped).status_code == 200
    before = store_state(hub_app.storage)
    refused = hub_app.upload(write_wheel(tmp_path, wheel_files("other-op", "2.0")), token=scoped)
    assert refused.status_code == 403 and "may change only mine-op, not 'other-op'" in refused.text
    assert "hub token create --project other-op" in refused.text
    auth = ("__token__", scoped)
    yank = hub_app.client.post("/api/projects/other-op/1.0/yank", json={"reason": "x"}, auth=auth)
    assert yank.status_code == 403 and "may change only mine-op" in yank.json()["error"]
    assert hub_app.client.post("/api/projects/mine-op/1.0/yank", json={"reason": "x"},
                               auth=auth).status_code == 200
    assert store_state(hub_app.storage)[0] == before[0]  # no file added to other-op


def test_a_revoked_token_no_longer_uploads(hub_app: InProcessHub, tmp_path: Path) -> None:
    token = create_token(hub_app.store)
    revoked = revoke_token(hub_app.store, token[:13])
    assert revoked.record.prefix == token[:13] and find_token(hub_app.store, token) is None
    response = hub_app.upload(write_wheel(tmp_path, wheel_files("late-op", "1.0")), token=token)
    assert response.status_code == 403 and "invalid credentials" in response.text


def test_revoke_needs_one_unambiguous_prefix(tmp_path: Path) -> None:
    store = Storage(tmp_path / "st")
    create_token(store)
    create_token(store)
    with pytest.raises(HubError, match="must name exactly one token"):
        revoke_token(store, "ohub_")  # every token starts so
    with pytest.raises(HubError, match="matches none"):
        revoke_token(store, "ohub_nothing")
    assert len(store.tokens()) == 2


def test_token_cli_lists_prefix_and_time_never_the_secret(tmp_path: Path) -> None:
    storage = ["--storage", str(tmp_path / "st")]
    runner = CliRunner()
    created = runner.invoke(main, ["token", "create", "--project", "a-op", "--project", "b_op",
                                   *storage])
    assert created.exit_code == 0 and "for a-op, b_op" in created.stderr
    secret = created.stdout.strip()
    listed = runner.invoke(main, ["token", "list", "--json", *storage])
    [row] = json.loads(listed.stdout)
    assert row["prefix"] == secret[:13] and row["projects"] == ["a-op", "b-op"]
    assert row["created"].endswith("Z") and secret not in listed.stdout
    table = runner.invoke(main, ["token", "list", *storage]).stdout
    assert secret[:13] in table and secret not in table and "a-op, b-op" in table
    revoked = runner.invoke(main, ["token", "revoke", secret[:13], *storage])
    assert revoked.exit_code == 0 and f"revoked token {secret[:13]}" in revoked.stdout
    again = runner.invoke(main, ["token", "revoke", secret[:13], *storage])
    assert again.exit_code == 1 and again.stderr.count("\n") == 1


def test_a_database_from_before_scopes_is_migrated(tmp_path: Path) -> None:
    root = tmp_path / "st"
    root.mkdir()
    with sqlite3.connect(root / "hub.sqlite3") as db:  # the tokens table of the first release
        db.execute("CREATE TABLE tokens (sha256 TEXT PRIMARY KEY, created TEXT NOT NULL)")
        db.execute("INSERT INTO tokens VALUES ('ab', '2024-01-01T00:00:00Z')")
    store = Storage(root)
    [old] = store.tokens()
    assert (old.prefix, old.projects, old.allows("anything")) == (None, None, True)
    table = CliRunner().invoke(main, ["token", "list", "--storage", str(root)]).stdout
    assert "(made before prefixes)" in table
