"""Recovery at start and the storage check: the database is an index of files/ and the journal.

:func:`recover` runs at every `hub serve` start (and as `hub admin recover`):

1. a damaged database is moved to ``quarantine/<time>/`` and a fresh one created (one
   that is locked, read-only or unreadable is not damaged: one line, nothing moved);
2. temporaries in ``incoming/`` are removed (the only files the hub ever deletes);
3. tokens, revocations and yanks the journal holds and the database lacks are restored;
4. each file in ``files/`` without a row is re-indexed from its own METADATA (upload
   time and yank state from the journal, else the file's modification time), or moved
   to ``quarantine/`` when it is not a valid wheel of its folder's project. A file the
   journal vouches for (same sha256) was published: when it breaks a rule newer than it,
   it is read leniently (:mod:`hub.server._published`), never quarantined for that.
   Folders inside a project's folder are moved to quarantine; symbolic links are
   reported, never followed; ``mirror/`` (issue #14) is walked the same way
   with its own rule (a valid wheel of any project but a hub operator's, see
   :mod:`hub.server._mirror`), after ``files/``, so the hub's own operators keep their
   names;
5. rows and tokens the journal lacks (a journal lost, or older than the database) are
   appended to it, so it describes everything again.

So a deleted, emptied, truncated or rolled-back database loses nothing (#11: the
old start-up deleted every wheel without a row). :func:`check` verifies every row
against its file and sha256 and changes nothing (it opens the storage read-only).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Protocol

from .._dist import WheelInfo, file_sha256
from .._exceptions import CorruptDatabase, InvalidDistribution
from .._local_hub import storage_token
from ._errors import RequestRejected
from ._import_unit import finish_interrupted
from ._journal import (
    Event,
    FileAdded,
    JournalState,
    MirrorAdded,
    TokenAdded,
    TokenRevoked,
    YankSet,
)
from ._mirror import Mirror
from ._published import read_published
from ._storage import TEMP_PREFIX, Storage, token_hash


class Area(Protocol):
    """Files under one folder with one row each: the operators (:class:`Storage`) or the
    mirror (:class:`Mirror`); recovery and the check walk each with its own rule."""

    @property
    def folder(self) -> Path: ...

    def rows(self) -> list[sqlite3.Row]: ...

    def inspect(self, path: Path) -> WheelInfo: ...

    def journaled(self, state: JournalState) -> Mapping[tuple[str, str],
                                                        FileAdded | MirrorAdded]: ...

    def index(self, info: WheelInfo, upload_time: str, yank: YankSet | None,
              journal: bool) -> None: ...

    def path_of(self, project: str, filename: str) -> Path: ...

    def metadata(self, project: str, filename: str) -> bytes | None: ...

    def file(self, project: str, filename: str) -> object | None: ...


def areas(store: Storage) -> tuple[Area, ...]:
    """Operators first: at a rebuild the hub's own names win over a mirrored one."""
    return (store, Mirror(store))


@dataclass
class RecoveryReport:
    """What :func:`recover` found and did; :meth:`lines` says it to the operator."""

    database_moved: Path | None = None
    database_error: str = ""
    removed_temporaries: int = 0
    reindexed: list[str] = field(default_factory=list)
    unjournaled: list[str] = field(default_factory=list)  # re-indexed with no journal line
    restored_tokens: int = 0
    restored_yanks: set[tuple[str, str]] = field(default_factory=set)  # (project, version)
    quarantined: list[tuple[Path, str]] = field(default_factory=list)  # (now here, why)
    not_followed: list[Path] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    journal_written: int = 0
    journal_unreadable: int = 0
    local_token_restored: bool = False

    def lines(self) -> list[str]:
        """One line per finding (nothing when the storage was consistent)."""
        lines = [*self._database_lines(), *self._file_lines(), *self._journal_lines()]
        return [f"recovery: {line}" for line in lines]

    def _database_lines(self) -> list[str]:
        lines = []
        if self.database_moved:
            lines.append(f"the database was damaged ({self.database_error}); kept it as "
                         f"{self.database_moved} and rebuilt the index from files/ and the "
                         "journal")
        restored = [f"{self.restored_tokens} token(s)" if self.restored_tokens else "",
                    f"the yank state of {len(self.restored_yanks)} version(s)"
                    if self.restored_yanks else ""]
        if any(restored):
            lines.append(f"restored {' and '.join(filter(None, restored))} from the journal")
        if self.local_token_restored:
            lines.append("registered the token in local-token again (the database and the "
                         "journal had lost it)")
        if self.removed_temporaries:
            lines.append(f"removed {self.removed_temporaries} unfinished upload(s) from "
                         "incoming/")
        return lines

    def _file_lines(self) -> list[str]:
        lines = []
        if self.reindexed:
            lines.append(f"re-indexed {len(self.reindexed)} file(s) that had no database row "
                         f"from their own METADATA: {_some(self.reindexed)}")
        if self.unjournaled:
            lines.append(f"{len(self.unjournaled)} of them had no journal entry: their upload "
                         "time is the file's modification time and a yank of them could not "
                         "be recovered (yank again with `hub yank`): "
                         f"{_some(self.unjournaled)}")
        for path, why in self.quarantined:
            lines.append(f"moved {path.name} to {path.parent}: {why}")
        for path in self.not_followed:
            lines.append(f"did not follow the symbolic link {path} (the hub never follows "
                         "links out of its storage; replace it with a real folder or file)")
        if self.missing:
            lines.append(f"{len(self.missing)} listed file(s) are missing from files/ and "
                         f"answer 404 — restore them from a backup: {_some(self.missing)}")
        return lines

    def _journal_lines(self) -> list[str]:
        lines = []
        if self.journal_written:
            lines.append(f"wrote {self.journal_written} entries the journal lacked (it was "
                         "missing or older than the database)")
        if self.journal_unreadable:
            lines.append(f"skipped {self.journal_unreadable} unreadable journal line(s)")
        return lines


def _some(names: list[str], shown: int = 5) -> str:
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def recover(root: Path) -> tuple[Storage, RecoveryReport]:
    """Open the storage at ``root`` and make its database agree with its files and journal."""
    report = RecoveryReport()
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
    store = _open(root, stamp, report)
    finish_interrupted(store)  # an import cut by a crash: all of it, or back to incoming/
    report.removed_temporaries = _remove_temporaries(store)
    state = store.journal.read()
    report.journal_unreadable = state.unreadable
    report.restored_tokens = _restore_tokens(store, state)
    _reindex_files(store, state, stamp, report)
    report.restored_yanks |= _restore_yanks(store, state)
    report.journal_written = _complete_journal(store, state)
    report.local_token_restored = _restore_local_token(store, state)
    report.missing = _missing_files(store)
    return store, report


def _open(root: Path, stamp: str, report: RecoveryReport) -> Storage:
    """The storage, with a damaged database moved aside (kept, never deleted). A database
    that is locked, read-only or unreadable is not damaged: StorageError, nothing moved."""
    try:
        store = Storage(root)
        verdict = store.check_database()
        if verdict == "ok":
            store.check_writable()
            return store
        error = verdict
    except CorruptDatabase as exc:
        error = exc.error
    db_path = Path(root) / "hub.sqlite3"
    keep = Path(root) / "quarantine" / stamp
    keep.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        if os.path.lexists(f"{db_path}{suffix}"):
            os.replace(f"{db_path}{suffix}", keep / f"hub.sqlite3{suffix}")
    report.database_moved, report.database_error = keep / "hub.sqlite3", error
    return Storage(root)


def _remove_temporaries(store: Storage) -> int:
    removed = 0
    for entry in os.scandir(store.incoming_dir):
        if entry.name.startswith(TEMP_PREFIX) and not entry.is_dir(follow_symlinks=False):
            os.unlink(entry.path)  # a link itself, never what it points to
            removed += 1
    return removed


def _restore_tokens(store: Storage, state: JournalState) -> int:
    have = set(store.token_hashes())
    added: list[Event] = [t for h, t in state.tokens.items()
                          if h not in have and h not in state.revoked]
    revoked: list[Event] = [TokenRevoked(h, "") for h in state.revoked if h in have]
    store.restore([*added, *revoked])
    return len(added)


def _restore_yanks(store: Storage, state: JournalState) -> set[tuple[str, str]]:
    """The journal's last word on each version wins over a stale (rolled-back) row."""
    rows = {(r["project"], r["version"]): (bool(r["yanked"]), r["yanked_reason"])
            for r in store.rows()}
    stale = [y for key, y in state.yanks.items()
             if key in rows and rows[key] != (y.yanked, y.reason)]
    store.restore(stale)
    return {(y.project, y.version) for y in stale}


def _complete_journal(store: Storage, state: JournalState) -> int:
    """Journal what only the database knows (a journal lost, or from an older backup)."""
    events: list[Event] = [MirrorAdded(r["project"], r["filename"], r["sha256"],
                                       r["upload_time"]) for r in Mirror(store).rows()
                           if (r["project"], r["filename"]) not in state.mirrored]
    for row in store.rows():
        if (row["project"], row["filename"]) not in state.files:
            events.append(FileAdded(row["project"], row["filename"], row["sha256"],
                                    row["upload_time"]))
        version = (row["project"], row["version"])
        if row["yanked"] and version not in state.yanks:
            state.yanks[version] = YankSet(*version, True, row["yanked_reason"],
                                           row["upload_time"])
            events.append(state.yanks[version])
    events += [TokenAdded(t.sha256, t.created, t.prefix, list(t.projects or []) or None)
               for t in store.tokens() if t.sha256 not in state.tokens]
    if events:
        store.journal.append(*events)
    return len(events)


def _restore_local_token(store: Storage, state: JournalState) -> bool:
    """The local-token file is a token this storage made: keep it valid after a loss."""
    token = storage_token(store.root)
    if token is None:
        return False
    digest = token_hash(token)
    if digest in state.revoked or store.token(digest) is not None:
        return False
    store.add_token(token)
    return True


# --- files ------------------------------------------------------------------------


def _reindex_files(store: Storage, state: JournalState, stamp: str,
                   report: RecoveryReport) -> None:
    for area in areas(store):
        known = {(r["project"], r["filename"]) for r in area.rows()}
        for path in _unindexed(area, known, report):
            why = _reindex(area, path, state, report)
            if why:
                report.quarantined.append((_quarantine(store, path, stamp), why))


def _unindexed(area: Area, known: set[tuple[str, str]],
               report: RecoveryReport) -> list[Path]:
    """Regular files under the area's folder without a row, and folders inside a project's
    folder (the hub keeps only files there); symbolic links go to the report."""
    found: list[Path] = []
    if not area.folder.is_dir():  # (a read-only check of a storage without it)
        return found
    for folder in sorted(os.scandir(area.folder), key=lambda e: e.name):
        if folder.is_symlink():
            report.not_followed.append(Path(folder.path))
        elif not folder.is_dir():
            found.append(Path(folder.path))  # a file loose in files/: no project explains it
        else:
            for entry in sorted(os.scandir(folder.path), key=lambda e: e.name):
                if entry.is_symlink():
                    report.not_followed.append(Path(entry.path))
                elif entry.is_dir() or (folder.name, entry.name) not in known:
                    found.append(Path(entry.path))
    return found


def _reindex(area: Area, path: Path, state: JournalState,
             report: RecoveryReport) -> str | None:
    """Index one row-less file; return why not (it then goes to quarantine)."""
    if path.is_dir():
        return "a folder inside a project's folder (the hub keeps only wheel files there)"
    journaled = area.journaled(state).get((path.parent.name, path.name))
    try:
        info = _inspect(area, path, journaled)
    except InvalidDistribution as exc:
        return f"not a valid wheel ({exc})"
    if path.parent.name != info.name:
        return f"a wheel of project {info.name!r} in the folder of {path.parent.name!r}"
    if journaled and journaled.sha256 != info.sha256:
        return (f"its sha256 {info.sha256} is not the published one ({journaled.sha256}, "
                "per the journal)")
    upload_time = journaled.upload_time if journaled else _mtime(path)
    yank = state.yanks.get((info.name, info.version)) if isinstance(area, Storage) else None
    try:
        area.index(info, upload_time, yank, journal=journaled is None)
    except RequestRejected as exc:  # a clash with a published file or the other kind
        return str(exc)
    if yank and yank.yanked:
        report.restored_yanks.add((info.name, info.version))
    report.reindexed.append(info.filename)
    if journaled is None:
        report.unjournaled.append(info.filename)
    return None


def _inspect(area: Area, path: Path, journaled: FileAdded | MirrorAdded | None) -> WheelInfo:
    """Today's upload rules; for an operator file whose sha256 the journal recorded, a
    lenient read when it breaks one (it was published before that rule, #11)."""
    try:
        return area.inspect(path)
    except InvalidDistribution as exc:
        if not (isinstance(area, Storage) and journaled is not None):
            raise
        hashed = file_sha256(path)
        if hashed[0] != journaled.sha256:
            raise InvalidDistribution(f"{exc}; and its sha256 {hashed[0]} is not the "
                                      f"published one ({journaled.sha256}, per the journal)"
                                      ) from None
        return read_published(path, path.parent.name, hashed)


def _quarantine(store: Storage, path: Path, stamp: str) -> Path:
    target = store.quarantine_dir / stamp / path.relative_to(store.root)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(path, target)
    return target


def _missing_files(store: Storage) -> list[str]:
    missing = []
    for area in areas(store):
        for row in area.rows():
            try:
                present = area.path_of(row["project"], row["filename"]).is_file()
            except ValueError:
                present = False
            if not present:
                missing.append(f"{_label(area)}{row['project']}/{row['filename']}")
    return missing


def _label(area: Area) -> str:
    return "" if isinstance(area, Storage) else "mirror/"


def _mtime(path: Path) -> str:
    moment = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --- the check ----------------------------------------------------------------------


@dataclass
class CheckReport:
    """What `hub admin check` found: how many files match their rows, and every problem."""

    checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check(root: Path) -> CheckReport:
    """Verify every row against its file (present, size, sha256) and the rest; change
    nothing: the storage is opened read-only (StorageError when ``root`` is not one)."""
    report = CheckReport()
    store = Storage(root, read_only=True)
    problem = _check_database(store)
    if problem:
        report.problems.append(problem)
        return report
    state = store.journal.read()
    for area in areas(store):
        for row in area.rows():
            report.checked += 1
            name = f"{_label(area)}{row['project']}/{row['filename']}"
            problem = _check_row(area, row["project"], row["filename"], row["size"],
                                 row["sha256"], row["metadata_sha256"])
            if problem:
                report.problems.append(f"{name}: {problem}")
            elif (row["project"], row["filename"]) not in area.journaled(state):
                report.problems.append(f"{name}: not in the journal; run `hub admin recover` "
                                       "to journal it")
    report.problems += _check_rest(store, state)
    return report


def _check_database(store: Storage) -> str | None:
    """What keeps the check from reading the database, or None."""
    fix = "run `hub admin recover` (or start `hub serve`), then check again"
    if not store.db_path.is_file():
        return f"{store.db_path} is missing; {fix}: it rebuilds the index from files/"
    verdict = store.check_database()
    if verdict != "ok":
        return f"the database is damaged ({verdict}); {fix}"
    if not store.schema_current():
        return f"the database was made by an older hub; {fix}: it upgrades the database"
    return None


def _check_row(area: Area, project: str, filename: str, size: int, sha256: str,
               metadata_sha256: str) -> str | None:
    try:
        path = area.path_of(project, filename)
    except ValueError as exc:
        return str(exc)
    if path.is_symlink() or not path.is_file():
        return "missing from files/ (downloads answer 404); restore it from a backup"
    digest, actual_size = file_sha256(path)
    if (digest, actual_size) != (sha256, size):
        return (f"the file changed: sha256 {digest} ({actual_size} bytes), the record says "
                f"{sha256} ({size} bytes); restore the published file from a backup")
    metadata = area.metadata(project, filename) or b""
    if hashlib.sha256(metadata).hexdigest() != metadata_sha256:
        return "its stored METADATA does not match its recorded sha256"
    if area.file(project, filename) is None:
        return "its database row is damaged and is skipped by every page"
    return None


def _check_rest(store: Storage, state: JournalState) -> list[str]:
    report = RecoveryReport()
    unindexed = [p for area in areas(store) for p in _unindexed(
        area, {(r["project"], r["filename"]) for r in area.rows()}, report)]
    problems = [f"{p.relative_to(store.root)}: " + (
        "a folder inside a project's folder; the next `hub serve` or `hub admin recover` "
        "moves it to quarantine/" if p.is_dir() else "no database row; the next `hub serve` "
        "or `hub admin recover` re-indexes or quarantines it") for p in unindexed]
    problems += [f"{p.relative_to(store.root)}: a symbolic link, never followed"
                 for p in report.not_followed]
    if state.unreadable:
        problems.append(f"{state.unreadable} unreadable line(s) in the journal")
    return problems
