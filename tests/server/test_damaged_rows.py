"""A damaged row costs only itself; a server error shows no internals (#11)."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest
from support.app import InProcessHub
from support.crafted import wheel_files, write_wheel

JSON_V1 = "application/vnd.pypi.simple.v1+json"
DAMAGE = {
    "undecodable text": "summary = CAST(x'ff' AS TEXT)",
    "not JSON": "operators = '{not json'",
    "wrong JSON type": "keywords = '5'",
    "bad version": "version = 'one'",
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_one_bad_row_is_skipped_and_logged_everywhere(
    hub_app: InProcessHub, tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: str
) -> None:
    for name in ("good-op", "bad-op"):
        hub_app.upload(write_wheel(tmp_path, wheel_files(name, "1.0")))
    with sqlite3.connect(hub_app.store.db_path) as db:
        db.execute(f"UPDATE files SET {DAMAGE[damage]} WHERE project = 'bad-op'")
    client = hub_app.client
    with caplog.at_level(logging.WARNING, logger="hub.server"):
        assert client.get("/").status_code == 200
        search = client.get("/api/search")
        assert search.status_code == 200
        assert [r["name"] for r in search.json()["results"]] == ["good-op"]
        assert client.get("/simple/good-op/", headers={"Accept": JSON_V1}).status_code == 200
        assert client.get("/api/projects/good-op").status_code == 200
        assert client.get("/api/projects/bad-op").status_code == 404  # nothing readable left
    warnings = [r.getMessage() for r in caplog.records if "skipping the database row" in
                r.getMessage()]
    assert len(warnings) == 1 and "bad_op-1.0-py3-none-any.whl" in warnings[0]  # once


def test_a_500_body_names_no_internals(hub_app: InProcessHub,
                                       caplog: pytest.LogCaptureFixture) -> None:
    hub_app.store.db_path.write_bytes(b"garbage " * 1000)  # damaged under a running hub
    with caplog.at_level(logging.ERROR, logger="hub.server"):
        response = hub_app.client.get("/api/search")
    assert response.status_code == 500
    assert response.json() == {"error": "internal error while answering GET /api/search; "
                                        "the details are in the hub's log"}
    assert any("DatabaseError" in r.getMessage() for r in caplog.records)
