"""The hub's mirror of third-party wheels (issue #14): its own area, index, rules, recovery.

In-process (Starlette's TestClient over ``create_app``); the mirror filled by the real
`hub mirror` is tested in tests/client/test_mirror.py.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

from support.app import InProcessHub, publish
from support.crafted import wheel_files, write_wheel
from support.index import build_wheel

from hub.server import Storage, check, create_token, recover

UPSTREAM_TIME = "2024-03-01T12:00:00.000000Z"


def put(hub: InProcessHub, wheel: Path, project: str | None = None, sha256: str | None = None,
        token: str | None = None, upload_time: str | None = UPSTREAM_TIME) -> Any:
    """PUT a wheel into the mirror as `hub mirror` does (sha256 in Content-Digest)."""
    data = wheel.read_bytes()
    digest = bytes.fromhex(sha256) if sha256 else hashlib.sha256(data).digest()
    headers = {"Content-Digest": f"sha-256=:{base64.b64encode(digest).decode()}:"}
    if upload_time:
        headers["X-Upload-Time"] = upload_time
    project = project or wheel.name.split("-")[0].replace("_", "-").lower()
    return hub.client.put(f"/mirror/files/{project}/{wheel.name}", content=data,
                          headers=headers, auth=("__token__", token or hub.token))


def test_a_mirrored_wheel_is_served_with_the_fields_of_the_hubs_own(tmp_path: Path) -> None:
    with InProcessHub(tmp_path / "st") as hub:
        assert hub.upload(write_wheel(tmp_path, wheel_files("opshub-demo", "1.0"))).ok
        wheel = build_wheel(tmp_path / "up", "alpha", "1.0", ["beta>=1"])
        assert put(hub, wheel).status_code == 201
        json_v1 = {"Accept": "application/vnd.pypi.simple.v1+json"}
        own = hub.client.get("/simple/opshub-demo/", headers=json_v1).json()["files"][0]
        page = hub.client.get("/mirror/simple/alpha/", headers=json_v1).json()
        [entry] = page["files"]
        assert set(entry) == set(own)  # PEP 503/691/658/700/714: the same fields
        data = wheel.read_bytes()
        assert entry["hashes"] == {"sha256": hashlib.sha256(data).hexdigest()}
        assert entry["size"] == len(data) and entry["upload-time"] == UPSTREAM_TIME
        assert page["versions"] == ["1.0"] and entry["yanked"] is False
        file_url = "/mirror/simple/alpha/" + entry["url"]
        assert hub.client.get(file_url).content == data
        metadata = hub.client.get(file_url + ".metadata").content
        assert entry["core-metadata"] == {"sha256": hashlib.sha256(metadata).hexdigest()}
        assert b"Requires-Dist: beta>=1" in metadata
        html = hub.client.get("/mirror/simple/alpha/").text
        assert f"#sha256={entry['hashes']['sha256']}" in html and "data-core-metadata" in html
        # apart from the hub's own: its own index, not its pages, API or search
        assert hub.client.get("/mirror/simple/", headers=json_v1).json()["projects"] == [
            {"name": "alpha"}]
        assert {"name": "alpha"} not in hub.client.get("/simple/", headers=json_v1).json()[
            "projects"]
        assert hub.client.get("/simple/alpha/").status_code == 404
        assert hub.client.get("/api/projects/alpha").status_code == 404
        assert "alpha" not in hub.client.get("/").text
        moved = hub.client.get("/mirror/simple/Alpha/", follow_redirects=False)
        assert moved.status_code == 301 and moved.headers["location"] == "/mirror/simple/alpha/"


def test_putting_the_same_bytes_again_is_a_no_op_and_other_bytes_a_409(tmp_path: Path
                                                                        ) -> None:
    with InProcessHub(tmp_path / "st") as hub:
        wheel = build_wheel(tmp_path / "a", "alpha", "1.0")
        assert put(hub, wheel).status_code == 201
        assert put(hub, wheel).status_code == 200
        other = build_wheel(tmp_path / "b", "alpha", "1.0", modules={"alpha/x.py": "X = 2\n"})
        refused = put(hub, other)
        assert refused.status_code == 409 and "File already exists" in refused.text
        assert [f.sha256 for f in hub.store.mirror.files()] == [
            hashlib.sha256(wheel.read_bytes()).hexdigest()]


def test_an_operator_upload_cannot_take_a_mirrored_name(tmp_path: Path) -> None:
    with InProcessHub(tmp_path / "st") as hub:
        assert put(hub, build_wheel(tmp_path / "up", "alpha", "1.0")).status_code == 201
        refused = hub.upload(write_wheel(tmp_path, wheel_files("alpha", "2.0")))
        assert refused.status_code == 409
        assert refused.text.startswith("project 'alpha' is a mirrored third-party project")
        assert hub.store.files() == [] and not (tmp_path / "st" / "files" / "alpha").exists()


def test_a_hub_operator_name_cannot_be_mirrored_over(tmp_path: Path) -> None:
    with InProcessHub(tmp_path / "st") as hub:
        assert hub.upload(write_wheel(tmp_path, wheel_files("opshub-demo", "1.0"))).ok
        impostor = build_wheel(tmp_path / "up", "opshub-demo", "9.0")
        refused = put(hub, impostor)
        assert refused.status_code == 409
        assert refused.text.startswith("project 'opshub-demo' is a hub operator on this hub")
        assert hub.store.mirror.files() == []
        assert list((tmp_path / "st" / "incoming").iterdir()) == []


def test_mirroring_needs_a_token_for_every_project(tmp_path: Path) -> None:
    with InProcessHub(tmp_path / "st") as hub:
        wheel = build_wheel(tmp_path / "up", "alpha", "1.0")
        scoped = create_token(hub.store, ["alpha"])
        refused = put(hub, wheel, token=scoped)
        assert refused.status_code == 403
        assert "mirroring needs a token for every project" in refused.text
        anonymous = hub.client.put(f"/mirror/files/alpha/{wheel.name}", content=b"x")
        assert anonymous.status_code == 401
        assert hub.store.mirror.files() == []


def test_bytes_other_than_the_locks_and_bad_files_are_refused_and_nothing_stays(
        tmp_path: Path) -> None:
    with InProcessHub(tmp_path / "st") as hub:
        wheel = build_wheel(tmp_path / "up", "alpha", "1.0")
        changed = put(hub, wheel, sha256="ab" * 32)
        assert changed.status_code == 400 and "the bytes changed on the way" in changed.text
        junk = tmp_path / "up" / "beta-1.0-py3-none-any.whl"
        junk.write_bytes(b"not a zip")
        assert put(hub, junk).status_code == 400
        assert put(hub, wheel, project="beta").status_code == 400  # not its project's path
        no_digest = hub.client.put(f"/mirror/files/alpha/{wheel.name}", content=b"x",
                                   auth=("__token__", hub.token))
        assert no_digest.status_code == 400 and "Content-Digest" in no_digest.text
        assert hub.store.mirror.files() == []
        assert list((tmp_path / "st" / "incoming").iterdir()) == []


def test_a_lost_database_is_rebuilt_with_the_mirror_and_its_upstream_times(tmp_path: Path
                                                                           ) -> None:
    with InProcessHub(tmp_path / "st") as hub:
        for name in ("alpha", "beta"):
            assert put(hub, build_wheel(tmp_path / "up", name, "1.0")).status_code == 201
        before = hub.store.mirror.files()
    (tmp_path / "st" / "hub.sqlite3").unlink()
    store, report = recover(tmp_path / "st")
    assert store.mirror.files() == before  # upload times from the journal
    assert sorted(report.reindexed) == sorted(f.filename for f in before)
    assert not report.unjournaled and not report.quarantined
    assert check(tmp_path / "st").ok


def test_recovery_quarantines_what_the_mirror_cannot_explain(tmp_path: Path) -> None:
    store = Storage(tmp_path / "st")
    mirror = store.mirror_dir
    (mirror / "alpha").mkdir()
    (mirror / "alpha" / "alpha-1.0-py3-none-any.whl").write_bytes(b"not a wheel")
    wheel = write_wheel(tmp_path, wheel_files("opshub-demo", "1.0"))
    publish(store, wheel)
    (mirror / "opshub-demo").mkdir()  # a mirrored copy under the operator's name
    (mirror / "opshub-demo" / wheel.name).write_bytes(wheel.read_bytes())
    problems = check(tmp_path / "st").problems
    assert any("mirror/alpha/alpha-1.0-py3-none-any.whl: no database row" in p
               for p in problems)
    store, report = recover(tmp_path / "st")
    why = {path.name: reason for path, reason in report.quarantined}
    assert why["alpha-1.0-py3-none-any.whl"].startswith("not a valid wheel")
    assert "is a hub operator on this hub" in why[wheel.name]
    assert store.mirror.files() == [] and [f.filename for f in store.files()] == [wheel.name]
    assert check(tmp_path / "st").ok


def test_the_check_finds_a_mirrored_file_that_changed(tmp_path: Path) -> None:
    with InProcessHub(tmp_path / "st") as hub:
        wheel = build_wheel(tmp_path / "up", "alpha", "1.0")
        assert put(hub, wheel).status_code == 201
    stored = tmp_path / "st" / "mirror" / "alpha" / wheel.name
    stored.write_bytes(stored.read_bytes() + b"x")
    [problem] = check(tmp_path / "st").problems
    assert problem.startswith(f"mirror/alpha/{wheel.name}: the file changed")
    with sqlite3.connect(tmp_path / "st" / "hub.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM mirror_files").fetchone()[0] == 1
    journal = [json.loads(line) for line in (tmp_path / "st" / "journal.jsonl").read_text()
               .splitlines()]
    assert [e["event"] for e in journal if e["event"] == "mirror"] == ["mirror"]
