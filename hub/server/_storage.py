"""The hub's storage: wheel files in a directory, one SQLite row per file as the commit point.

Layout of the storage directory::

    hub.sqlite3                     file records and token hashes (an index: rebuildable)
    journal.jsonl                   every change, appended before its commit (_journal.py)
    files/<project>/<filename>      the wheels, by PEP 503 normalized project name
    mirror/<project>/<filename>     mirrored third-party wheels (_mirror.py, issue #14)
    incoming/.tmp-<random>          uploads being received
    quarantine/<time>/...           what recovery could not explain (moved, never deleted)
    local-token, local-key          for same-machine clients (0600, _tokens.py)

An upload is written to a temp file on the same filesystem (``incoming/``, so a
rejected upload creates no project folder), fsynced, validated, renamed into place
(atomic), journaled and only then recorded in the database. ``BEGIN IMMEDIATE``
takes SQLite's write lock, so the check-rename-journal-insert step is serialized
across threads and processes. A crash after the rename leaves a file without a
row: recovery (_recovery.py) re-indexes it, as it rebuilds a lost database; the
storage never deletes a file it cannot explain, and never follows a symbolic link
out of ``files/``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sqlite3
import sys
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

from packaging.utils import InvalidWheelFilename
from packaging.version import InvalidVersion, Version

from .._dist import ReleaseKey, WheelInfo, inspect_wheel, release_key
from .._exceptions import CorruptDatabase, StorageError
from .._operator import normalize_name
from ._errors import FileExistsConflict, NameTaken
from ._journal import (
    JOURNAL_FILE,
    Event,
    FileAdded,
    Journal,
    JournalState,
    TokenAdded,
    TokenRevoked,
    YankSet,
)

if TYPE_CHECKING:
    from ._mirror import Mirror

logger = logging.getLogger("hub.server")
T = TypeVar("T")

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
CREATE TABLE IF NOT EXISTS mirror_files (
    filename TEXT PRIMARY KEY,
    project TEXT NOT NULL,
    version TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    upload_time TEXT NOT NULL,
    requires_python TEXT,
    metadata BLOB NOT NULL,
    metadata_sha256 TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS mirror_files_by_project ON mirror_files (project);
"""
# Columns added after the first release, migrated in place: (table, column, declaration).
_ADDED_COLUMNS = (
    ("tokens", "prefix", "TEXT"),  # the token's first characters, shown by `hub token list`
    ("tokens", "projects", "TEXT"),  # JSON list of normalized names; NULL: every project
)
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
TOKEN_PREFIX_LENGTH = 13  # "ohub_" and 8 random characters (48 bits): shown, never the rest


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

    @property
    def url_path(self) -> str:
        """The file's URL path below the hub's root."""
        return f"files/{quote(self.project)}/{quote(self.filename)}"

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> FileRecord:
        """Decode a row; ValueError or TypeError when it is damaged (see ``decode_rows``)."""
        data = dict(row)
        for key in ("keywords", "requires_dist", "operators"):
            data[key] = json.loads(data[key])
        data["yanked"] = bool(data["yanked"])
        record = cls(**data)
        record._check()
        return record

    def _check(self) -> None:
        """Everything the pages and indexes rely on, so one bad row cannot break them."""
        texts = [self.filename, self.project, self.version, self.sha256, self.upload_time,
                 self.summary, self.readme, *self.keywords, *self.requires_dist,
                 self.requires_python or "", self.readme_content_type or "",
                 self.yanked_reason or ""]
        if not all(isinstance(t, str) for t in texts) or not isinstance(self.size, int):
            raise TypeError("a column holds a value of the wrong type")
        for text in texts:
            text.encode("utf-8")  # undecodable bytes come back as surrogates: refused here
        if normalize_name(self.project) != self.project:
            raise ValueError(f"project {self.project!r} is not a normalized name")
        Version(self.version)  # InvalidVersion is a ValueError
        if not all(isinstance(op, dict) for op in self.operators):
            raise TypeError("operators is not a list of objects")


@dataclass(frozen=True)
class TokenRecord:
    """One upload token as stored: its hash, never the secret."""

    sha256: str
    created: str
    prefix: str | None  # None for tokens created before prefixes were kept
    projects: tuple[str, ...] | None  # None: every project

    def allows(self, project: str) -> bool:
        """Whether this token may upload to and yank ``project`` (normalized)."""
        return self.projects is None or project in self.projects

    @property
    def scope(self) -> str:
        return "all projects" if self.projects is None else ", ".join(self.projects)


def decode_rows(rows: Iterable[sqlite3.Row], decode: Callable[[sqlite3.Row], T],
                reported: set[str] | None = None) -> list[T]:
    """Rows through ``decode`` (e.g. ``FileRecord.from_row``); a row it refuses (ValueError,
    TypeError, KeyError) is skipped and logged, once per filename in ``reported``.

    Every query that returns file records goes through here (a lighter listing too,
    with its own ``decode``), so one bad row costs only itself, never the page or the
    index that lists it (#11).
    """
    records = []
    for row in rows:
        try:
            records.append(decode(row))
        except (ValueError, TypeError, KeyError) as exc:
            columns = row.keys()  # (`in row` would look at the values)
            name = repr(row["filename"]) if "filename" in columns else "a file"
            if reported is None or name not in reported:
                logger.warning("skipping the database row of %s: it is damaged (%s: %s); "
                               "run `hub admin check`", name, type(exc).__name__, exc)
                if reported is not None:
                    reported.add(name)
    return records


class Storage:
    """Wheel files and their records under one directory (created if missing).

    Raises :class:`~hub._exceptions.StorageError` when the directory cannot be used
    and :class:`~hub._exceptions.CorruptDatabase` when its database is damaged.

    >>> store = Storage(Path("/tmp/hub-storage"))        # doctest: +SKIP
    >>> store.add(info, temp_path)                       # doctest: +SKIP
    True
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.files_dir = self.root / "files"
        self.mirror_dir = self.root / "mirror"
        self.incoming_dir = self.root / "incoming"
        self.quarantine_dir = self.root / "quarantine"
        self.db_path = self.root / "hub.sqlite3"
        self.journal = Journal(self.root / JOURNAL_FILE)
        self._reported: set[str] = set()  # damaged rows already logged
        try:
            for folder in (self.files_dir, self.mirror_dir, self.incoming_dir):
                folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot use {self.root} as the hub's storage: "
                               f"{exc.strerror or exc}; pass a folder you can write to "
                               "(--storage) or fix its permissions", self.root) from None
        self._files_real = self.files_dir.resolve()
        self.mirror_real = self.mirror_dir.resolve()
        self._open_database()

    def _open_database(self) -> None:
        try:
            with self._connect() as db:
                db.execute("PRAGMA journal_mode=WAL")
                db.executescript(_SCHEMA)
                _migrate(db)
                db.execute(f"CREATE INDEX IF NOT EXISTS {_LISTING_INDEX} ON files "
                           f"(project, {', '.join(c for c in _LISTING_COLUMNS if c != 'project')})")
        except sqlite3.OperationalError as exc:
            if "unable to open" not in str(exc):
                raise CorruptDatabase(self.root, str(exc)) from None
            raise StorageError(f"cannot open the hub's database {self.db_path} ({exc}); "
                               "make the storage folder writable", self.root) from None
        except sqlite3.DatabaseError as exc:
            raise CorruptDatabase(self.root, str(exc)) from None

    @contextlib.contextmanager
    def connect(self, write: bool = False) -> Iterator[sqlite3.Connection]:
        """A connection; with ``write``, inside SQLite's write lock (``BEGIN IMMEDIATE``)."""
        with self._connect(write) as db:
            yield db

    @property
    def mirror(self) -> Mirror:
        """The mirrored third-party wheels kept beside the operators (issue #14)."""
        from ._mirror import Mirror

        return Mirror(self)

    @contextlib.contextmanager
    def _connect(self, write: bool = False) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.db_path, timeout=30, isolation_level=None)
        db.row_factory = sqlite3.Row
        db.text_factory = _text
        db.execute("PRAGMA synchronous=FULL")
        try:
            if write:
                db.execute("BEGIN IMMEDIATE")  # the write lock, across processes
            yield db
            if db.in_transaction:  # (a commit step may have committed already)
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
        removed); raises :class:`FileExistsConflict` when the filename holds other
        bytes, or when another file already is that release (#11: ``UPOP-1.0-...``
        beside ``upop-1.0-...``), leaving the temp file to the caller.
        """
        with self._connect(write=True) as db:
            if not self.is_new(db, info):
                temp.unlink(missing_ok=True)
                return False
            final = self.path_of(info.name, info.filename)
            if os.path.lexists(final):  # a file no row explains: never overwrite it
                raise FileExistsConflict(info.filename, unexplained=True)
            final.parent.mkdir(exist_ok=True)
            os.replace(temp, final)
            fsync_dir(final.parent)
            upload_time = utc_now()
            self.journal.append(FileAdded(info.name, info.filename, info.sha256, upload_time))
            insert_row(db, info, upload_time)
        return True

    def index(self, info: WheelInfo, upload_time: str, yank: YankSet | None,
              journal: bool) -> None:
        """Record a file already in place (recovery), journaling it when ``journal``."""
        with self._connect(write=True) as db:
            if not self.is_new(db, info):
                return
            if journal:
                self.journal.append(FileAdded(info.name, info.filename, info.sha256,
                                              upload_time))
            insert_row(db, info, upload_time, yank)

    def is_new(self, db: sqlite3.Connection, info: WheelInfo) -> bool:
        """False for the same bytes under the same name; FileExistsConflict for a clash,
        NameTaken for a name the mirror holds."""
        if db.execute("SELECT 1 FROM mirror_files WHERE project = ? LIMIT 1",
                      (info.name,)).fetchone():
            raise NameTaken(info.name, mirrored=True)
        rows = db.execute("SELECT filename, sha256 FROM files WHERE project = ?",
                          (info.name,)).fetchall()
        same = [r for r in rows if r["filename"] == info.filename]
        if same:
            if same[0]["sha256"] != info.sha256:
                raise FileExistsConflict(info.filename)
            return False
        key = release_key(info.filename)
        for row in rows:
            other = _release_key(row["filename"])
            if other is not None and key.conflicts_with(other):
                raise FileExistsConflict(info.filename, existing=row["filename"])
        return True

    def projects(self) -> list[str]:
        """Normalized names of every project with at least one file."""
        with self._connect() as db:
            rows = db.execute("SELECT DISTINCT project FROM files ORDER BY project").fetchall()
        return [r["project"] for r in rows if _is_project_name(r["project"])]

    def files(self, project: str | None = None) -> list[FileRecord]:
        """Records of a project's files (or of all files), oldest first."""
        where, args = ("WHERE project = ?", (project,)) if project else ("", ())
        with self._connect() as db:
            rows = db.execute(f"SELECT {_RECORD_COLUMNS} FROM files {where} "
                              "ORDER BY upload_time, filename", args).fetchall()
        return decode_rows(rows, FileRecord.from_row, self._reported)

    def file(self, project: str, filename: str) -> FileRecord | None:
        """The record of one file of a project, or None."""
        with self._connect() as db:
            rows = db.execute(f"SELECT {_RECORD_COLUMNS} FROM files WHERE project = ? "
                              "AND filename = ?", (project, filename)).fetchall()
        return next(iter(decode_rows(rows, FileRecord.from_row, self._reported)), None)

    def metadata(self, project: str, filename: str) -> bytes | None:
        """The METADATA bytes of one file (PEP 658), or None."""
        with self._connect() as db:
            row = db.execute("SELECT metadata FROM files WHERE project = ? AND filename = ?",
                             (project, filename)).fetchone()
        return bytes(row["metadata"]) if row else None

    def path_of(self, project: str, filename: str) -> Path:
        """Where a file lives; refuses any name, or symbolic link, that leaves the folder."""
        return contained(self.files_dir, self._files_real, project, filename)

    # the storage as one *area* of files with rows (recovery and the check walk each area:
    # this one and the mirror, _mirror.Mirror)
    @property
    def folder(self) -> Path:
        return self.files_dir

    @staticmethod
    def inspect(path: Path) -> WheelInfo:
        """Validate a file of this area (an operator wheel)."""
        return inspect_wheel(path)

    @staticmethod
    def journaled(state: JournalState) -> Mapping[tuple[str, str], FileAdded]:
        """The journal's file events of this area."""
        return state.files

    def set_yanked(self, project: str, version: str, yanked: bool, reason: str = "") -> int:
        """Yank (or unyank) every file of a version; returns how many files changed."""
        reason_or_none = reason if yanked else None
        with self._connect(write=True) as db:
            cursor = db.execute(
                "UPDATE files SET yanked = ?, yanked_reason = ? WHERE project = ? "
                "AND version = ?", (int(yanked), reason_or_none, project, version))
            if cursor.rowcount:
                self.journal.append(YankSet(project, version, yanked, reason_or_none, utc_now()))
        return cursor.rowcount


    # --- tokens ---------------------------------------------------------------------

    def add_token(self, token: str, projects: Sequence[str] | None = None) -> TokenRecord:
        """Store a token's hash (never the token), for every project or only ``projects``."""
        scope = sorted({normalize_name(p) for p in projects}) if projects else None
        event = TokenAdded(token_hash(token), utc_now(), token[:TOKEN_PREFIX_LENGTH], scope)
        with self._connect(write=True) as db:
            self.journal.append(event)
            _insert_token(db, event)
        return _token_record(event)

    def token(self, digest: str) -> TokenRecord | None:
        """The token whose sha256 is ``digest``, or None."""
        with self._connect() as db:
            row = db.execute("SELECT * FROM tokens WHERE sha256 = ?", (digest,)).fetchone()
        return _token_from_row(row) if row else None

    def tokens(self) -> list[TokenRecord]:
        """Every valid token, oldest first."""
        with self._connect() as db:
            rows = db.execute("SELECT * FROM tokens ORDER BY created").fetchall()
        return [_token_from_row(r) for r in rows]

    def revoke_token(self, digest: str) -> bool:
        """Remove a token (by its sha256); False when there was no such token."""
        with self._connect(write=True) as db:
            if db.execute("SELECT 1 FROM tokens WHERE sha256 = ?", (digest,)).fetchone() is None:
                return False
            self.journal.append(TokenRevoked(digest, utc_now()))
            db.execute("DELETE FROM tokens WHERE sha256 = ?", (digest,))
        return True

    def token_hashes(self) -> list[str]:
        """The sha256 hex digests of every valid token."""
        return [t.sha256 for t in self.tokens()]

    # --- recovery (see _recovery.py) --------------------------------------------------

    def restore(self, events: Sequence[Event]) -> None:
        """Apply journaled token and yank events the database lacks (a rebuild)."""
        with self._connect(write=True) as db:
            for event in events:
                if isinstance(event, TokenAdded):
                    _insert_token(db, event)
                elif isinstance(event, TokenRevoked):
                    db.execute("DELETE FROM tokens WHERE sha256 = ?", (event.sha256,))
                elif isinstance(event, YankSet):
                    db.execute("UPDATE files SET yanked = ?, yanked_reason = ? WHERE "
                               "project = ? AND version = ?",
                               (int(event.yanked), event.reason, event.project, event.version))

    def rows(self) -> list[sqlite3.Row]:
        """Every file row's identity, raw (recovery and `hub admin check` read these)."""
        with self._connect() as db:
            return db.execute("SELECT filename, project, version, sha256, size, upload_time, "
                              "metadata_sha256, yanked, yanked_reason FROM files").fetchall()

    def check_database(self) -> str:
        """SQLite's ``quick_check`` verdict: ``"ok"``, or what is damaged."""
        try:
            with self._connect() as db:
                rows = db.execute("PRAGMA quick_check").fetchall()
        except sqlite3.DatabaseError as exc:
            return str(exc)
        return "; ".join(str(r[0]) for r in rows)

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
        return decode_rows(rows, FileRecord.from_row, self._reported)

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


def contained(folder: Path, real: Path, project: str, filename: str) -> Path:
    """``folder/project/filename``, refused (ValueError) when a name or a symbolic link
    would leave ``folder`` (whose resolved path is ``real``)."""
    if not _is_project_name(project):
        raise ValueError(f"{project!r} is not a normalized project name")
    path = folder / project / filename
    inside = path.resolve().parent == real / project  # no link followed
    if not inside or filename in ("", ".", "..") or filename.startswith(TEMP_PREFIX):
        raise ValueError(f"{filename!r} is not a file inside project {project!r} of the "
                         "storage (the hub never follows links out of it)")
    return path


def token_hash(token: str) -> str:
    """Tokens are 256-bit random strings, so a plain sha256 is a safe hash for them."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def insert_row(db: sqlite3.Connection, info: WheelInfo, upload_time: str,
            yank: YankSet | None = None) -> None:
    yanked, reason = (yank.yanked, yank.reason) if yank else (False, None)
    row = (
        info.filename, info.name, info.version, info.sha256, info.size, upload_time,
        info.requires_python, info.summary, json.dumps(info.keywords),
        json.dumps(info.requires_dist), info.readme, info.readme_content_type,
        json.dumps(info.operators), info.metadata, hashlib.sha256(info.metadata).hexdigest(),
        int(yanked), reason,
    )
    db.execute(f"INSERT INTO files VALUES ({', '.join('?' * len(row))})", row)


def _insert_token(db: sqlite3.Connection, event: TokenAdded) -> None:
    projects = json.dumps(event.projects) if event.projects is not None else None
    db.execute("INSERT OR IGNORE INTO tokens (sha256, created, prefix, projects) "
               "VALUES (?, ?, ?, ?)", (event.sha256, event.created, event.prefix, projects))


def _token_from_row(row: sqlite3.Row) -> TokenRecord:
    projects = json.loads(row["projects"]) if row["projects"] else None
    return TokenRecord(row["sha256"], row["created"], row["prefix"],
                       tuple(projects) if isinstance(projects, list) else None)


def _token_record(event: TokenAdded) -> TokenRecord:
    projects = tuple(event.projects) if event.projects is not None else None
    return TokenRecord(event.sha256, event.created, event.prefix, projects)


def _migrate(db: sqlite3.Connection) -> None:
    """Add the columns a database made by an older hub lacks."""
    for table, column, declaration in _ADDED_COLUMNS:
        have = {r["name"] for r in db.execute(f"PRAGMA table_info({table})")}
        if column not in have:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")


def _release_key(filename: str) -> ReleaseKey | None:
    try:
        return release_key(filename)
    except (InvalidWheelFilename, InvalidVersion):  # a row from before the filename rules
        return None


def _is_project_name(name: object) -> bool:
    if not isinstance(name, str) or not name or "/" in name or name.startswith("."):
        return False
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return normalize_name(name) == name


def _text(raw: bytes) -> str:
    # Undecodable bytes become surrogates instead of failing the whole query (sqlite3's
    # default): FileRecord._check then refuses that one row only (#11).
    return raw.decode("utf-8", "surrogateescape")


def utc_now() -> str:
    """The current UTC time as the storage writes it (ISO 8601, microseconds, "Z")."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def fsync_dir(path: Path) -> None:
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
