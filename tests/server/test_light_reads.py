"""pip's and `hub install`'s paths never read READMEs, and never block the server (#11 audit).

Before: the simple project page and ``/api/projects/{name}`` read every file's README
(up to 1 MiB each; a legacy one 140 MB), so a damaged README hid the file from pip.
Now both read the light listing; the API carries one README, on request. The health
check's query runs in the thread pool, not on the event loop.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from support.app import AppServer, InProcessHub, upload
from support.crafted import wheel_files, write_wheel
from support.faults import sqlite_locked

from hub.cli import main
from hub.server import _storage as storage_module

JSON_V1 = "application/vnd.pypi.simple.v1+json"


def _publish(hub: InProcessHub, tmp_path: Path, version: str, readme: str) -> None:
    files = wheel_files("demo-op", version)
    meta = f"demo_op-{version}.dist-info/METADATA"
    files[meta] = files[meta].replace(b"The README card.", readme.encode())
    assert hub.upload(write_wheel(tmp_path, files)).status_code == 200


def test_a_damaged_readme_never_hides_a_file_from_pip(hub_app: InProcessHub,
                                                      tmp_path: Path) -> None:
    _publish(hub_app, tmp_path, "1.0", "Fine.")
    with sqlite3.connect(hub_app.store.db_path) as db:  # bytes that are not UTF-8
        db.execute("UPDATE files SET readme = CAST(X'FFFE' AS TEXT)")
    page = hub_app.client.get("/simple/demo-op/", headers={"Accept": JSON_V1})
    assert page.status_code == 200, page.text
    assert [f["filename"] for f in page.json()["files"]] == ["demo_op-1.0-py3-none-any.whl"]
    info = hub_app.client.get("/api/projects/demo-op").json()
    assert [v["version"] for v in info["versions"]] == ["1.0"]


def test_the_project_api_carries_one_readme_on_request(hub_app: InProcessHub,
                                                       tmp_path: Path) -> None:
    _publish(hub_app, tmp_path, "1.0", "Old card.")
    _publish(hub_app, tmp_path, "2.0", "New card.")

    def readmes(query: str) -> dict[str, str | None]:
        data = hub_app.client.get(f"/api/projects/demo-op{query}").json()
        return {v["version"]: v.get("readme") for v in data["versions"]}

    assert readmes("") == {"2.0": None, "1.0": None}
    assert readmes("?readme=latest") == {"2.0": "New card.", "1.0": None}
    assert readmes("?readme=1.0.0") == {"2.0": None, "1.0": "Old card."}  # any spelling


@pytest.mark.server
def test_hub_info_shows_the_readme_of_the_version_it_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with AppServer(tmp_path / "storage") as hub:
        for version, card in (("1.0", "Old card."), ("2.0", "New card.")):
            files = wheel_files("demo-op", version)
            meta = f"demo_op-{version}.dist-info/METADATA"
            files[meta] = files[meta].replace(b"The README card.", card.encode())
            assert upload(hub.url, hub.token, write_wheel(tmp_path, files)).ok
        monkeypatch.setenv("HUB_URL", hub.url)
        newest = CliRunner().invoke(main, ["info", "demo-op"]).stdout
        older = CliRunner().invoke(main, ["info", "demo-op==1.0"]).stdout
    assert "New card." in newest and "Old card." not in newest
    assert "Old card." in older and "New card." not in older


@pytest.mark.server
def test_a_health_check_waiting_on_the_database_never_stalls_other_requests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: /api/health queried SQLite on the event loop, so while it waited for a
    locked database (30 s) the whole hub answered nothing."""
    monkeypatch.setattr(storage_module, "BUSY_TIMEOUT_S", 3.0)
    with AppServer(tmp_path / "storage") as hub, sqlite_locked(hub.storage / "hub.sqlite3"):
        waiting = threading.Thread(target=requests.get, args=(hub.url + "/api/health",),
                                   kwargs={"timeout": 30})
        waiting.start()
        time.sleep(0.5)  # the health check is now waiting on the lock
        start = time.monotonic()
        other = requests.get(hub.url + "/api/no-such-thing", timeout=30)
        elapsed = time.monotonic() - start
        waiting.join()
    assert other.status_code == 404 and elapsed < 1.5, elapsed
