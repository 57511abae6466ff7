"""``POST /api/import``: a bundle (:mod:`hub._bundle`) into this hub, all or nothing (#14).

1. The body streams into ``incoming/`` under a size cap.
2. :func:`hub._bundle.read_bundle` verifies it whole (the archive's own sum, every
   member's size and sha256, the manifest's locks against its files) while it writes each
   wheel to its own temp file; every wheel is then validated as an upload would be
   (operators with :func:`inspect_wheel`, mirrored ones with :func:`inspect_mirrored`).
3. Only then, in ONE write transaction: every release and name rule is checked against
   the hub as it is now (immutable releases, one name one kind), the new files are
   renamed into place, recorded and journaled together; COMMIT. The renames are one
   :class:`~hub.server._import_unit.ImportUnit`: any failure up to the COMMIT (the
   journal cannot be written, the disk is full) puts every file back and the journal
   as it was, and a crash is settled at the next start, all of it or none.

Files the hub already has with the same bytes are counted as already there, so
importing a bundle twice is a no-op.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TypedDict

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from .._bundle import BundleFile, read_bundle
from .._dist import WheelInfo, inspect_mirrored, inspect_wheel
from .._exceptions import BundleError, InvalidDistribution
from . import _mirror
from ._import_unit import ImportUnit
from ._journal import Event, FileAdded, MirrorAdded
from ._mirror_upload import receive_to_file
from ._storage import Storage, insert_row, utc_now


class ImportReport(TypedDict):
    """What an import did (the JSON answer of ``POST /api/import``)."""

    operators: int  # operator files added
    mirrored: int  # mirrored files added
    already: int  # files the hub had, with the same bytes
    bytes: int  # bytes added


@dataclass(frozen=True)
class _Item:
    entry: BundleFile
    info: WheelInfo
    temp: Path


async def receive_bundle(request: Request, store: Storage, max_bytes: int) -> ImportReport:
    """Receive, verify and commit one bundle; BundleError (400) refuses it whole."""
    temp = store.temp_path()
    try:
        await receive_to_file(request.stream(), temp, max_bytes, "a bundle")
        return await run_in_threadpool(import_file, store, temp)
    finally:
        temp.unlink(missing_ok=True)


def import_file(store: Storage, bundle: Path) -> ImportReport:
    """Verify the bundle at ``bundle`` whole, then commit all of it or nothing."""
    extraction = _Extraction(store)
    try:
        read_bundle(bundle, extraction.open, name="the uploaded bundle")
        return _commit(store, [_checked(entry, temp) for entry, temp in extraction.found])
    finally:
        extraction.remove()


class _Extraction:
    """Each wheel of a bundle into its own temp file of the storage (same filesystem, so
    the commit is a rename)."""

    def __init__(self, store: Storage) -> None:
        self.store = store
        self.found: list[tuple[BundleFile, Path]] = []

    def open(self, entry: BundleFile) -> IO[bytes]:
        path = self.store.temp_path()
        self.found.append((entry, path))
        return open(path, "wb")  # closed by read_bundle once the member is written

    def remove(self) -> None:
        for _, path in self.found:
            path.unlink(missing_ok=True)  # already gone when committed


def _checked(entry: BundleFile, temp: Path) -> _Item:
    """The wheel validated as an upload of its kind would be, and named as listed."""
    inspect = inspect_wheel if entry["kind"] == "operator" else inspect_mirrored
    try:
        info = inspect(temp, filename=entry["filename"])
    except InvalidDistribution as exc:
        raise BundleError(f"the bundle is refused whole: {exc}; nothing was imported") from None
    if info.name != entry["project"]:
        raise BundleError(f"the bundle is refused whole: {entry['path']} is a wheel of "
                          f"{info.name!r}, listed as {entry['project']!r}; nothing was imported")
    return _Item(entry, info, temp)


def _commit(store: Storage, items: list[_Item]) -> ImportReport:
    _check_kinds(items)
    with store.connect(write=True) as db:
        new = [i for i in items if (store.is_new(db, i.info) if _operator(i)
                                    else _mirror.is_new(db, i.info))]
        if new:
            _add_all(store, db, new)
    operators = sum(1 for i in new if _operator(i))
    return ImportReport(operators=operators, mirrored=len(new) - operators,
                        already=len(items) - len(new), bytes=sum(i.info.size for i in new))


def _add_all(store: Storage, db: sqlite3.Connection, new: list[_Item]) -> None:
    """Place, record and journal the new files as one unit, and COMMIT inside it."""
    now = utc_now()
    finals, events = [_final(store, i) for i in new], [_event(i, now) for i in new]
    unit = ImportUnit(store, finals, events)
    with unit:
        for item, final in zip(new, finals):
            unit.place(item.temp, final)
        for item in new:
            _insert(db, item, now)
        store.journal.append(*events)  # the commit point (see _import_unit)
        db.execute("COMMIT")  # inside the unit: a COMMIT that fails is undone too


def _check_kinds(items: list[_Item]) -> None:
    operators = {i.info.name for i in items if _operator(i)}
    both = sorted(operators & {i.info.name for i in items if not _operator(i)})
    if both:
        raise BundleError(f"the bundle is refused whole: it holds {both[0]!r} both as an "
                          "operator and as a mirrored wheel; nothing was imported")


def _operator(item: _Item) -> bool:
    return item.entry["kind"] == "operator"


def _final(store: Storage, item: _Item) -> Path:
    """Where a new file goes (refused when a file no row explains lies there), its temp
    file fsynced first."""
    area = store if _operator(item) else store.mirror
    final = area.path_of(item.info.name, item.info.filename)
    if os.path.lexists(final):
        raise BundleError(f"the bundle is refused whole: {final.name} lies in the hub's "
                          "storage without a record (run `hub admin check`); nothing was "
                          "imported")
    with open(item.temp, "rb") as written:
        os.fsync(written.fileno())
    return final


def _insert(db: sqlite3.Connection, item: _Item, now: str) -> None:
    if _operator(item):
        insert_row(db, item.info, now)
    else:
        _mirror.insert_row(db, item.info, item.entry["upload_time"] or now)


def _event(item: _Item, now: str) -> Event:
    info = item.info
    if _operator(item):
        return FileAdded(info.name, info.filename, info.sha256, now)
    return MirrorAdded(info.name, info.filename, info.sha256, item.entry["upload_time"] or now)
