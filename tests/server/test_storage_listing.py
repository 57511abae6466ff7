"""Storage's light reads for the pages: records without README bodies, a README by size."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from support.app import InProcessHub

from hub.server import FileRecord, Storage

README = "The README card."


@pytest.fixture
def store(hub_app: InProcessHub, make_wheel: Callable[..., Path]) -> Storage:
    """opshub-demo 1.0 and 2.0, and opshub-other 1.0, uploaded through the app."""
    for name, version in (("opshub-demo", "1.0"), ("opshub-other", "1.0"),
                          ("opshub-demo", "2.0")):
        assert hub_app.upload(make_wheel(name, version)).ok
    return Storage(hub_app.storage)


def _sql(store: Storage, statement: str, *args: object) -> None:
    with sqlite3.connect(store.db_path) as db:
        db.execute(statement, args)


def test_listing_is_files_without_readme(store: Storage) -> None:
    files = store.files()
    assert [f.readme for f in files] == [README] * 3
    assert store.listing() == [dataclasses.replace(f, readme="") for f in files]
    assert [f.version for f in store.listing("opshub-demo")] == ["1.0", "2.0"]
    assert store.listing("nope") == []


def test_listing_never_decodes_a_readme(store: Storage) -> None:
    """The attack: a README SQLite holds but Python cannot decode. files() skips that row
    as damaged (and logs it); the listing (home, search) never reads the README, so it
    still lists the file, and the page's read replaces the bad bytes."""
    _sql(store, "UPDATE files SET readme = CAST(x'ff41' AS TEXT) WHERE project = ?",
         "opshub-other")
    assert "opshub-other" not in {f.project for f in store.files()}
    assert [f.project for f in store.listing()] == ["opshub-demo", "opshub-other", "opshub-demo"]
    [record] = store.listing("opshub-other")
    assert store.readme("opshub-other", record.filename, 100) == ("\ufffdA", 2)


def test_listing_reads_one_covering_index(store: Storage) -> None:
    """Every column the listing returns is in its index, so SQLite never reads the row
    (and never walks a large README's overflow pages): 90 ms -> 4 ms with 140 MB, #11."""
    with sqlite3.connect(store.db_path) as db:
        [index] = [r[1] for r in db.execute("PRAGMA index_list(files)")
                   if r[1].startswith("files_listing_")]
        columns = {r[2] for r in db.execute(f"PRAGMA index_info({index})")}
    fields = {f.name for f in dataclasses.fields(FileRecord)}
    assert fields - columns == {"readme"}
    Storage(store.root)  # reopening an existing database keeps the one index
    with sqlite3.connect(store.db_path) as db:
        assert [r[1] for r in db.execute("PRAGMA index_list(files)")
                if r[1].startswith("files_listing_")] == [index]


def test_readme_by_size(store: Storage) -> None:
    [record] = store.listing("opshub-other")
    assert store.readme("opshub-other", record.filename, 100) == (README, len(README))
    assert store.readme("opshub-other", record.filename, len(README) - 1) == ("", len(README))
    assert store.readme("opshub-other", "nope.whl", 100) is None
    assert store.readme("opshub-demo", record.filename, 100) is None  # another project's
    _sql(store, "UPDATE files SET readme = ? WHERE project = ?", "", "opshub-other")
    assert store.readme("opshub-other", record.filename, 100) == ("", 0)
    _sql(store, "UPDATE files SET readme = ? WHERE project = ?", "é" * 10, "opshub-other")
    assert store.readme("opshub-other", record.filename, 100) == ("é" * 10, 20)  # bytes
