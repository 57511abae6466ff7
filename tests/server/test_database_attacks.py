"""Delete, empty, truncate or roll back the database, restart `hub serve`: nothing is lost.

Before #11 the restart deleted every wheel that had no row (3 of 3; the 3 newer of 4
after a rollback). Now each wheel is still served with its sha256, the yank made
after the backup is still there, and the upload token still works.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from support.app import publish, upload
from support.crafted import wheel_files, write_wheel
from support.hub_server import start_hub_server

from hub.server import Storage, create_token

pytestmark = pytest.mark.server
JSON_V1 = "application/vnd.pypi.simple.v1+json"
PROJECT = "opshub-dbattack"


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes, str, dict[str, str]]:
    """A storage with 4 wheels, a backup of its database taken after the first, a yank
    made after the backup, and a token: (storage, backup, token, filename -> sha256)."""
    root = tmp_path_factory.mktemp("dbattack")
    store = Storage(root / "storage")
    token = create_token(store)
    wheels = [write_wheel(root, wheel_files(PROJECT, f"1.{i}")) for i in range(4)]
    publish(store, wheels[0])
    backup = store.db_path.read_bytes()
    for wheel in wheels[1:]:
        publish(store, wheel)
    store.set_yanked(PROJECT, "1.3", True, "yanked after the backup")
    return store.root, backup, token, {w.name: hashlib.sha256(w.read_bytes()).hexdigest()
                                       for w in wheels}


def _truncate(db: Path, backup: bytes) -> None:
    db.write_bytes(db.read_bytes()[: db.stat().st_size // 2])


ATTACKS: dict[str, Callable[[Path, bytes], None]] = {
    "deleted": lambda db, backup: db.unlink(),
    "emptied": lambda db, backup: db.write_bytes(b""),
    "truncated": _truncate,
    "rolled back": lambda db, backup: db.write_bytes(backup),
}


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_a_database_attack_loses_nothing(
    prepared: tuple[Path, bytes, str, dict[str, str]], tmp_path: Path, attack: str
) -> None:
    original, backup, token, published = prepared
    storage = tmp_path / "storage"
    shutil.copytree(original, storage)
    ATTACKS[attack](storage / "hub.sqlite3", backup)
    server = start_hub_server(storage, token=token)
    try:
        assert _served_hashes(server.url) == published
        versions = requests.get(f"{server.url}/api/projects/{PROJECT}", timeout=10).json()
        yanked = {v["version"]: v["yanked_reason"] for v in versions["versions"] if v["yanked"]}
        assert yanked == {"1.3": "yanked after the backup"}
        late = write_wheel(tmp_path, wheel_files(PROJECT, "2.0"))
        assert upload(server.url, token, late).status_code == 200  # the token still works
    finally:
        server.stop()


def _served_hashes(url: str) -> dict[str, str]:
    """filename -> sha256 of every file the index lists, each downloaded and hashed."""
    index = requests.get(f"{url}/simple/{PROJECT}/", headers={"Accept": JSON_V1}, timeout=10)
    served = {}
    for file in index.json()["files"]:
        content = requests.get(f"{url}/simple/{PROJECT}/{file['url']}", timeout=10).content
        assert hashlib.sha256(content).hexdigest() == file["hashes"]["sha256"]
        served[file["filename"]] = file["hashes"]["sha256"]
    return served
