"""The hub's storage: wheel files in a directory, one SQLite row per file as the commit point.

Layout of the storage directory::

    hub.sqlite3                     file records and token hashes
    files/<project>/<filename>      the wheels, by PEP 503 normalized project name
    incoming/.tmp-<random>          uploads being received
    local-token                     plaintext token for same-machine clients (0600)

An upload is written to a temp file on the same filesystem (``incoming/``, so a
rejected upload creates no project folder), fsynced, renamed into place (atomic),
and only then recorded in the database; a file without a row is
invisible and removed by :meth:`Storage.recover` at start, so a crash at any
point leaves nothing half-written. ``BEGIN IMMEDIATE`` takes SQLite's write lock,
so the check-rename-insert step is serialized across threads and processes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .._dist import WheelInfo
from ._errors import FileExistsConflict

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    filename TEXT PRIMARY KEY,
    project TEXT NOT NULL,
    version TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    upload_time TEXT NOT NULL,
    requires_python TEXT,
    summary TEXT NOT NULL,
    keywords TEXT NOT NULL,
    requires_dist TEXT NOT NULL,
    readme TEXT NOT NULL,
    readme_content_type TEXT,
    operators TEXT NOT NULL,
    metadata BLOB NOT NULL,
    metadata_sha256 TEXT NOT NULL,
    yanked INTEGER NOT NULL DEFAULT 0,
    yanked_reason TEXT
);
CREATE INDEX IF NOT EXISTS files_by_project ON files (project);
CREATE TABLE IF NOT EXISTS tokens (sha256 TEXT PRIMARY KEY, created TEXT NOT NULL);
"""
_RECORD_COLUMNS = (
    "filename, project, version, sha256, size, upload_time, requires_python, summary, "
    "keywords, requires_dist, readme, readme_content_type, operators, metadata_sha256, "
    "yanked, yanked_reason"
)
TEMP_PREFIX = ".tmp-"
# The web pages read every record column but the README from one covering index, so SQLite
# never walks a large README's overflow pages: with a 140 MB README in the table (issue 11)
# reading 600 light rows took 90 ms from the table and 4 ms from this index. The name
# follows the columns, so a changed record gets a fresh index on an existing database.
_LISTING_COLUMNS = [c.strip() for c in _RECORD_COLUMNS.split(",") if c.strip() != "readme"]
_LISTING_INDEX = "files_listing_" + hashlib.sha256(
    ",".join(_LISTING_COLUMNS).encode()).hexdigest()[:8]


@dataclass(frozen=True)
class FileRecord:
    """One stored wheel, as its database row describes it."""

    filename: str
    project: str
    version: str
    sha256: str
    size: int
    upload_time: str  # ISO 8601, UTC, "Z"
    requires_python: str | None
    summary: str
    keywords: list[str]
    requires_dist: list[str]
    readme: str
    readme_content_type: str | None
    operators: list[dict[str, Any]]
    metadata_sha256: str
    yanked: bool
    yanked_reason: str | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> FileRecord:
        data = dict(row)
        for key in ("keywords", "requires_dist", "operators"):
            data[key] = json.loads(data[key])
        data["yanked"] = bool(data["yanked"])
        return cls(**data)


class Storage:
    """Wheel files and their records under one directory (created if missing).

    >>> store = Storage(Path("/tmp/hub-storage"))        # doctest: +SKIP
    >>> store.add(info, temp_path)                       # doctest: +SKIP
    True
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.files_dir = self.root / "files"
        self.incoming_dir = self.root / "incoming"
        for folder in (self.files_dir, self.incoming_dir):
            folder.mkdir(parents=True, exist_ok=True)
        self.db_path = self.root / "hub.sqlite3"
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)
            db.execute(f"CREATE INDEX IF NOT EXISTS {_LISTING_INDEX} ON files "
                       f"(project, {', '.join(c for c in _LISTING_COLUMNS if c != 'project')})")

    @contextlib.contextmanager
    def _connect(self, write: bool = False) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.db_path, timeout=30, isolation_level=None)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA synchronous=FULL")
        try:
            if write:
                db.execute("BEGIN IMMEDIATE")  # the write lock, across processes
            yield db
            if write:
                db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        finally:
            db.close()

    # --- files ----------------------------------------------------------------------

    def temp_path(self) -> Path:
        """A fresh temp file name on the storage's filesystem (so the rename is atomic)."""
        return self.incoming_dir / f"{TEMP_PREFIX}{uuid.uuid4().hex}"

    def add(self, info: WheelInfo, temp: Path) -> bool:
        """Commit a validated, fsynced temp file as ``info.filename``.

        Returns True when stored, False for an identical re-upload (the temp file is
        removed); raises :class:`FileExistsConflict` for different bytes under a
        filename already used.
        """
        with self._connect(write=True) as db:
            row = db.execute("SELECT sha256 FROM files WHERE filename = ?",
                             (info.filename,)).fetchone()
            if row is not None:
                temp.unlink(missing_ok=True)
                if row["sha256"] != info.sha256:
                    raise FileExistsConflict(info.filename)
                return False
            final = self.path_of(info.name, info.filename)
            final.parent.mkdir(exist_ok=True)
            os.replace(temp, final)
            _fsync_dir(final.parent)
            db.execute(f"INSERT INTO files VALUES ({', '.join('?' * 17)})", _row(info))
        return True

    def projects(self) -> list[str]:
        """Normalized names of every project with at least one file."""
        with self._connect() as db:
            rows = db.execute("SELECT DISTINCT project FROM files ORDER BY project").fetchall()
        return [r["project"] for r in rows]

    def files(self, project: str | None = None) -> list[FileRecord]:
        """Records of a project's files (or of all files), oldest first."""
        where, args = ("WHERE project = ?", (project,)) if project else ("", ())
        with self._connect() as db:
            rows = db.execute(f"SELECT {_RECORD_COLUMNS} FROM files {where} "
                              "ORDER BY upload_time, filename", args).fetchall()
        return [FileRecord.from_row(r) for r in rows]

    def file(self, project: str, filename: str) -> FileRecord | None:
        """The record of one file of a project, or None."""
        with self._connect() as db:
            row = db.execute(f"SELECT {_RECORD_COLUMNS} FROM files WHERE project = ? "
                             "AND filename = ?", (project, filename)).fetchone()
        return FileRecord.from_row(row) if row else None

    def metadata(self, project: str, filename: str) -> bytes | None:
        """The METADATA bytes of one file (PEP 658), or None."""
        with self._connect() as db:
            row = db.execute("SELECT metadata FROM files WHERE project = ? AND filename = ?",
                             (project, filename)).fetchone()
        return bytes(row["metadata"]) if row else None

    def path_of(self, project: str, filename: str) -> Path:
        """Where a file lives; refuses any name that would leave the project folder."""
        folder = self._project_dir(project)
        path = (folder / filename).resolve()
        if path.parent != folder.resolve() or filename.startswith(TEMP_PREFIX):
            raise ValueError(f"{filename!r} is not a file name inside project {project!r}")
        return path

    def set_yanked(self, project: str, version: str, yanked: bool, reason: str = "") -> int:
        """Yank (or unyank) every file of a version; returns how many files changed."""
        with self._connect(write=True) as db:
            cursor = db.execute(
                "UPDATE files SET yanked = ?, yanked_reason = ? WHERE project = ? "
                "AND version = ?", (int(yanked), reason if yanked else None, project, version))
        return cursor.rowcount

    def _project_dir(self, project: str) -> Path:
        if not project or "/" in project or project.startswith("."):
            raise ValueError(f"{project!r} is not a normalized project name")
        return self.files_dir / project

    # --- recovery -------------------------------------------------------------------

    def recover(self) -> list[Path]:
        """Remove temp files and files without a row (left by a crash); return them."""
        removed: list[Path] = []
        with self._connect(write=True) as db:
            known = {(r["project"], r["filename"])
                     for r in db.execute("SELECT project, filename FROM files")}
            for path in [*self.files_dir.glob("*/*"), *self.incoming_dir.iterdir()]:
                if (path.parent.name, path.name) not in known and path.is_file():
                    path.unlink()
                    removed.append(path)
        return removed

    # --- tokens ---------------------------------------------------------------------

    def add_token(self, token: str) -> None:
        """Store a token's hash (never the token)."""
        with self._connect(write=True) as db:
            db.execute("INSERT INTO tokens VALUES (?, ?)", (token_hash(token), _now()))

    def token_hashes(self) -> list[str]:
        """The sha256 hex digests of every valid token."""
        with self._connect() as db:
            return [r["sha256"] for r in db.execute("SELECT sha256 FROM tokens")]

    # --- light reads for the web pages (issue 15) ---------------------------------------

    def listing(self, project: str | None = None) -> list[FileRecord]:
        """Like :meth:`files`, but ``readme`` is "" and never read (issue 11: the home page
        took 1 s, five at once 16 s, with a 140 MB README in the database)."""
        where, args = ("WHERE project = ?", (project,)) if project else ("", ())
        columns = ", ".join(_LISTING_COLUMNS)
        with self._connect() as db:
            rows = db.execute(f"SELECT {columns}, '' AS readme FROM files INDEXED BY "
                              f"{_LISTING_INDEX} {where} ORDER BY upload_time, filename",
                              args).fetchall()
        return [FileRecord.from_row(r) for r in rows]

    def readme(self, project: str, filename: str, max_bytes: int) -> tuple[str, int] | None:
        """One file's README and its size in bytes (None: no such file); the text is ""
        when the size is over ``max_bytes``. A blob handle knows the size without reading
        the body: 0.2 ms for a 140 MB README, where ``length(readme)`` takes 300 ms."""
        with self._connect() as db:
            row = db.execute("SELECT rowid FROM files WHERE project = ? AND filename = ?",
                             (project, filename)).fetchone()
            if row is None:
                return None
            if sys.version_info < (3, 11):  # no blob handles: read it whole
                data = db.execute("SELECT CAST(readme AS BLOB) FROM files WHERE rowid = ?",
                                  (row[0],)).fetchone()[0]
                return (data.decode("utf-8", "replace") if len(data) <= max_bytes else "",
                        len(data))
            with db.blobopen("files", "readme", row[0], readonly=True) as blob:
                size = len(blob)
                data = blob.read() if size <= max_bytes else b""
        return data.decode("utf-8", "replace"), size


def token_hash(token: str) -> str:
    """Tokens are 256-bit random strings, so a plain sha256 is a safe hash for them."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _row(info: WheelInfo) -> tuple[Any, ...]:
    return (
        info.filename, info.name, info.version, info.sha256, info.size, _now(),
        info.requires_python, info.summary, json.dumps(info.keywords),
        json.dumps(info.requires_dist), info.readme, info.readme_content_type,
        json.dumps(info.operators), info.metadata, hashlib.sha256(info.metadata).hexdigest(),
        0, None,
    )


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_durably(path: Path, chunks: Iterator[bytes]) -> None:
    """Write chunks to ``path`` and fsync it (used for temp files before the rename)."""
    with open(path, "wb") as f:
        f.writelines(chunks)
        f.flush()
        os.fsync(f.fileno())
