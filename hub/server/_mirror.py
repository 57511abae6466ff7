"""The hub's mirror: the third-party wheels operators' locks need, kept apart (issue #14).

    mirror/<project>/<filename>    the wheels, under upstream's own filenames
    mirror_files (table)           one row per file: the commit point, as for operators

A mirrored wheel is added as an operator upload is: written to ``incoming/``, fsynced,
checked (its sha256 against the one the client took from the lock, then
:func:`hub._dist.inspect_mirrored`), renamed into place, journaled (``MirrorAdded``)
and recorded under SQLite's write lock. In that same transaction one name is kept one
kind: a project with operator files is never mirrored, a mirrored project never gets
operator files (:class:`NameTaken` both ways), so no index, lock or installer can take
one for the other. A filename holds one sha256 forever.

It is served as its own index (``/mirror/simple/``) with the fields of the hub's own,
so online locks keep PyPI's full choice while offline ones take the mirror as their
only third-party index. Recovery walks ``mirror/`` as it walks ``files/``, with this
area's rule: a file without a row is re-indexed when it is a valid wheel of its
folder's project (and, if journaled, has the journaled sha256), else quarantined.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from .._dist import WheelInfo, inspect_mirrored
from ._errors import FileExistsConflict, NameTaken
from ._journal import JournalState, MirrorAdded, YankSet
from ._storage import Storage, committing, contained, decode_rows, utc_now

_COLUMNS = ("filename, project, version, sha256, size, upload_time, requires_python, "
            "metadata_sha256")


@dataclass(frozen=True)
class MirrorRecord:
    """One mirrored wheel, as its row describes it (the index's fields, PEP 503-700)."""

    filename: str
    project: str
    version: str
    sha256: str
    size: int
    upload_time: str  # upstream's upload time when it gave one (keeps lock cooldowns true)
    requires_python: str | None
    metadata_sha256: str
    yanked: bool = False
    yanked_reason: str | None = None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> MirrorRecord:
        record = cls(**dict(row))
        if not all(isinstance(v, str) for v in (record.filename, record.project,
                                                record.sha256, record.upload_time)):
            raise TypeError("a column holds a value of the wrong type")
        return record

    @property
    def url_path(self) -> str:
        """The file's URL path below the hub's root."""
        return f"mirror/files/{quote(self.project)}/{quote(self.filename)}"


class Mirror:
    """The mirror area of a :class:`Storage` (same database, same write lock)."""

    def __init__(self, store: Storage) -> None:
        self.store = store
        self.folder = store.mirror_dir

    def add(self, info: WheelInfo, temp: Path, upload_time: str | None = None) -> bool:
        """Commit a checked, fsynced temp file; False for the same bytes already there."""
        with self.store.connect(write=True) as db:
            if not is_new(db, info):
                temp.unlink(missing_ok=True)
                return False
            final = self.path_of(info.name, info.filename)
            if os.path.lexists(final):  # a file no row explains: never overwrite it
                raise FileExistsConflict(info.filename, unexplained=True)
            with committing(db, [(temp, final)]):  # a failed commit publishes nothing
                when = upload_time or utc_now()
                self.store.journal.append(MirrorAdded(info.name, info.filename, info.sha256,
                                                      when))
                insert_row(db, info, when)
        return True

    def index(self, info: WheelInfo, upload_time: str, yank: YankSet | None,
              journal: bool) -> None:
        """Record a file already in place (recovery); mirrored files are never yanked."""
        with self.store.connect(write=True) as db:
            if not is_new(db, info):
                return
            if journal:
                self.store.journal.append(MirrorAdded(info.name, info.filename, info.sha256,
                                                      upload_time))
            insert_row(db, info, upload_time)

    def projects(self) -> list[str]:
        with self.store.connect() as db:
            rows = db.execute("SELECT DISTINCT project FROM mirror_files ORDER BY project")
            return [r["project"] for r in rows.fetchall()]

    def files(self, project: str | None = None) -> list[MirrorRecord]:
        """A project's mirrored files (or all), oldest first."""
        where, args = ("WHERE project = ?", (project,)) if project else ("", ())
        with self.store.connect() as db:
            rows = db.execute(f"SELECT {_COLUMNS} FROM mirror_files {where} "
                              "ORDER BY upload_time, filename", args).fetchall()
        return decode_rows(rows, MirrorRecord.from_row)

    def file(self, project: str, filename: str) -> MirrorRecord | None:
        with self.store.connect() as db:
            rows = db.execute(f"SELECT {_COLUMNS} FROM mirror_files WHERE project = ? AND "
                              "filename = ?", (project, filename)).fetchall()
        return next(iter(decode_rows(rows, MirrorRecord.from_row)), None)

    def metadata(self, project: str, filename: str) -> bytes | None:
        with self.store.connect() as db:
            row = db.execute("SELECT metadata FROM mirror_files WHERE project = ? AND "
                             "filename = ?", (project, filename)).fetchone()
        return bytes(row["metadata"]) if row else None

    def path_of(self, project: str, filename: str) -> Path:
        return contained(self.folder, self.store.mirror_real, project, filename)

    def rows(self) -> list[sqlite3.Row]:
        """Every row's identity, raw (recovery and the check read these)."""
        with self.store.connect() as db:
            return db.execute("SELECT filename, project, version, sha256, size, upload_time, "
                              "metadata_sha256, 0 AS yanked, NULL AS yanked_reason "
                              "FROM mirror_files").fetchall()

    @staticmethod
    def inspect(path: Path) -> WheelInfo:
        return inspect_mirrored(path)

    @staticmethod
    def journaled(state: JournalState) -> Mapping[tuple[str, str], MirrorAdded]:
        return state.mirrored


def is_new(db: sqlite3.Connection, info: WheelInfo) -> bool:
    """False for the same bytes already mirrored; FileExistsConflict for other bytes under
    that filename, NameTaken when the name is a hub operator's."""
    if db.execute("SELECT 1 FROM files WHERE project = ? LIMIT 1", (info.name,)).fetchone():
        raise NameTaken(info.name, mirrored=False)
    row = db.execute("SELECT sha256 FROM mirror_files WHERE filename = ?",
                     (info.filename,)).fetchone()
    if row is None:
        return True
    if row["sha256"] != info.sha256:
        raise FileExistsConflict(info.filename)
    return False


def insert_row(db: sqlite3.Connection, info: WheelInfo, upload_time: str) -> None:
    db.execute("INSERT INTO mirror_files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
               (info.filename, info.name, info.version, info.sha256, info.size, upload_time,
                info.requires_python, info.metadata,
                hashlib.sha256(info.metadata).hexdigest()))


