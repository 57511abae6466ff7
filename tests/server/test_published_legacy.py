"""Files an older hub published, before today's upload rules, survive a lost database (#11).

Each wheel is written as an older hub left it: the file, its row and its journal line.
Then the database is deleted and the hub restarts. Before the audit, recovery ran
today's upload validation on them: the non-canonical filename, the 1.5 MB METADATA and
the URL requirement all went to quarantine, and pip lost them. Now the journal vouches
for their sha256 and they are served again with their own bytes.
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from support.crafted import wheel_files, write_wheel

from hub._dist import MAX_METADATA_BYTES, WheelInfo
from hub.server import Storage, create_app
from hub.server._journal import FileAdded
from hub.server._storage import insert_row, utc_now

JSON_V1 = "application/vnd.pypi.simple.v1+json"


def _padded_readme() -> dict[str, bytes]:
    files = wheel_files("upop", "1.0")
    pad = random.Random(0).randbytes(MAX_METADATA_BYTES // 2 + 1000).hex()
    files["upop-1.0.dist-info/METADATA"] += pad.encode()  # over today's 1 MiB cap
    return files


LEGACY = {  # what an older hub accepted -> (filename, members)
    "non-canonical filename": ("UPOP-1.0-py3-none-any.whl", wheel_files("upop", "1.0")),
    "METADATA over 1 MiB": ("upop-1.0-py3-none-any.whl", _padded_readme()),
    "URL requirement": ("upop-1.0-py3-none-any.whl", wheel_files(
        "upop", "1.0", **{"Requires-Dist": "evil @ https://example.com/evil.whl"})),
}


def publish_as_an_older_hub(store: Storage, wheel: Path, journal: bool = True) -> str:
    """Put ``wheel`` in files/upop/ with a row (and a journal line), as a hub without
    today's rules did; returns its sha256."""
    final = store.files_dir / "upop" / wheel.name
    final.parent.mkdir(exist_ok=True)
    final.write_bytes(wheel.read_bytes())
    digest = hashlib.sha256(final.read_bytes()).hexdigest()
    info = WheelInfo("upop", "1.0", wheel.name, digest, final.stat().st_size, b"Name: upop\n")
    when = utc_now()
    with store.connect(write=True) as db:
        insert_row(db, info, when)
    if journal:
        store.journal.append(FileAdded("upop", wheel.name, digest, when))
    return digest


@pytest.mark.parametrize("case", list(LEGACY))
def test_a_published_legacy_wheel_is_served_after_the_database_is_lost(
    tmp_path: Path, case: str
) -> None:
    filename, files = LEGACY[case]
    store = Storage(tmp_path / "storage")
    digest = publish_as_an_older_hub(store, write_wheel(tmp_path, files, filename))
    store.db_path.unlink()
    app = create_app(store.root)  # the restart
    assert app.state.recovery.quarantined == [] and app.state.recovery.reindexed == [filename]
    client = TestClient(app)
    [listed] = client.get("/simple/upop/", headers={"Accept": JSON_V1}).json()["files"]
    assert (listed["filename"], listed["hashes"]["sha256"]) == (filename, digest)
    served = client.get(f"/files/upop/{filename}").content
    assert hashlib.sha256(served).hexdigest() == digest
    assert client.get(f"/files/upop/{filename}.metadata").content.startswith(
        b"Metadata-Version: 2.1\nName: upop\nVersion: 1.0")  # PEP 658, from the file itself


def test_two_files_of_one_release_an_older_hub_published_both_stay(tmp_path: Path) -> None:
    """The alias that got in before the release rule: both were served, both still are."""
    store = Storage(tmp_path / "storage")
    (tmp_path / "other").mkdir()
    first = publish_as_an_older_hub(store, write_wheel(tmp_path, wheel_files("upop", "1.0")))
    other = wheel_files("upop", "1.0", Summary="Other bytes.")
    second = publish_as_an_older_hub(
        store, write_wheel(tmp_path / "other", other, "UPOP-1.0-py3-none-any.whl"))
    store.db_path.unlink()
    app = create_app(store.root)
    assert app.state.recovery.quarantined == []
    assert sorted(r.sha256 for r in app.state.storage.files()) == sorted([first, second])


@pytest.mark.parametrize("journaled", ["no journal line", "another sha256"])
def test_a_rule_breaking_file_nobody_vouches_for_goes_to_quarantine(
    tmp_path: Path, journaled: str
) -> None:
    store = Storage(tmp_path / "storage")
    wheel = write_wheel(tmp_path, wheel_files("upop", "1.0"), "UPOP-1.0-py3-none-any.whl")
    publish_as_an_older_hub(store, wheel, journal=journaled != "no journal line")
    path = store.files_dir / "upop" / wheel.name
    if journaled == "another sha256":
        path.write_bytes(path.read_bytes() + b"changed after it was published")
    store.db_path.unlink()
    app = create_app(store.root)
    [(moved, why)] = app.state.recovery.quarantined
    assert moved.name == wheel.name and moved.is_file()  # moved, never deleted
    assert ("normalized project name" in why if journaled == "no journal line"
            else "not the published one" in why)
    assert app.state.storage.files() == []
