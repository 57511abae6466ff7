"""An import's files placed as one unit: all of them committed, or none (issue #14).

An upload commits one file, so a crash between its rename and its row leaves a file
that recovery re-indexes: the upload happened. An import renames many files, and a
crash half-way would leave some of them for recovery to index: half a bundle. So
before the first rename, under the write lock, a record is written to ``incoming/``::

    incoming/import-<random>.json   {"journal_size": N, "files": [...], "events": [...]}

(no ``.tmp-`` prefix: recovery's clean-up of temporaries leaves it). The journal
lines of the import are the commit point, as for an upload. Any failure before the
database's COMMIT (a journal that cannot be written, a full disk, a failed COMMIT) puts
every renamed file back and cuts the journal back to ``N`` bytes, in-process. A crash
leaves the record, and the next start (:func:`finish_interrupted`, run by recovery
before anything else) decides from the journal alone: every event there — the import
happened, recovery indexes the files; otherwise the files go back to ``incoming/`` as
temporaries (which recovery removes) and a torn tail of the import's lines is cut.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import asdict
from pathlib import Path
from types import TracebackType
from typing import Any

from ._journal import Event
from ._storage import Storage, fsync_dir

RECORD_PREFIX = "import-"


class ImportUnit:
    """The renames of one import, undone together unless its block ends normally.

    Use it inside the write lock, with the journal append and the COMMIT in its block.
    """

    def __init__(self, store: Storage, files: list[Path], events: list[Event]) -> None:
        self.store = store
        self.record = store.incoming_dir / f"{RECORD_PREFIX}{uuid.uuid4().hex}.json"
        self.journal_size = _size(store.journal.path)
        self.files, self.events = files, events
        self.moved: list[tuple[Path, Path]] = []  # (temp, final)

    def __enter__(self) -> None:
        data = {"journal_size": self.journal_size, "events": _lines(self.events),
                "files": [str(f.relative_to(self.store.root)) for f in self.files]}
        with open(self.record, "w", encoding="utf-8") as out:
            json.dump(data, out)
            out.flush()
            os.fsync(out.fileno())
        fsync_dir(self.record.parent)  # on disk before the first rename

    def place(self, temp: Path, final: Path) -> None:
        """Rename a verified temp file into place (its folder made, and fsynced)."""
        final.parent.mkdir(exist_ok=True)
        os.replace(temp, final)
        self.moved.append((temp, final))
        fsync_dir(final.parent)

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if kind is not None:
            for temp, final in reversed(self.moved):
                _put_back(final, temp)  # not committed: back where it came from
            _cut(self.store.journal.path, self.journal_size)
        self.record.unlink(missing_ok=True)


def finish_interrupted(store: Storage) -> None:
    """Settle every import a crash cut (see the module docstring): the files of one that
    is undone go back to ``incoming/`` as temporaries, which recovery then removes."""
    for record in sorted(store.incoming_dir.glob(f"{RECORD_PREFIX}*.json")):
        data = _read_record(record)
        if data is not None:
            _settle(store, data)
        record.unlink()


def _settle(store: Storage, data: dict[str, Any]) -> None:
    """Keep the import when all its lines are in the journal; else undo it."""
    size, events = data["journal_size"], data["events"]
    tail = _tail(store.journal.path, size)
    lines = tail.split(b"\n")[:-1] if tail is not None else []  # the last one: torn, or b""
    complete = [_json(line) for line in lines if line.strip()]  # (an append may start "\n")
    ours = tail is not None and all(line in events for line in complete)
    if ours and all(event in complete for event in events):
        return  # committed: recovery indexes whatever has no row yet
    for name in data["files"]:
        path = store.root / name
        if os.path.isfile(path) and not os.path.islink(path):
            _put_back(path, store.temp_path())
    if ours:
        _cut(store.journal.path, size)  # a torn append of this import's own lines


def _put_back(final: Path, temp: Path) -> None:
    """A placed file back to ``incoming/``; its project folder goes too when the import
    made it (it is empty then)."""
    os.replace(final, temp)
    try:
        final.parent.rmdir()
    except OSError:  # other files of that project: the folder was there before
        pass


def _read_record(record: Path) -> dict[str, Any] | None:
    """A record, or None when it was cut while written (so no file was moved yet)."""
    try:
        data = json.loads(record.read_bytes())
    except (OSError, ValueError):
        return None
    shaped = (isinstance(data, dict) and isinstance(data.get("journal_size"), int)
              and isinstance(data.get("events"), list) and isinstance(data.get("files"), list)
              and all(isinstance(f, str) and ".." not in Path(f).parts for f in data["files"]))
    return data if shaped else None


def _lines(events: list[Event]) -> list[dict[str, Any]]:
    """Each event as its journal line holds it (``{"event": kind, **fields}``)."""
    return [{"event": e.kind, **asdict(e)} for e in events]


def _tail(path: Path, size: int) -> bytes | None:
    """The journal's bytes after ``size``; None when it is shorter (not the same file)."""
    try:
        with open(path, "rb") as journal:
            journal.seek(0, os.SEEK_END)
            if journal.tell() < size:
                return None
            journal.seek(size)
            return journal.read()
    except FileNotFoundError:
        return None if size else b""


def _json(line: bytes) -> Any:
    try:
        return json.loads(line)
    except ValueError:
        return None


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _cut(path: Path, size: int) -> None:
    """Truncate the journal back to ``size`` bytes (only ever shorter, and fsynced)."""
    if _size(path) > size:
        fd = os.open(path, os.O_WRONLY)
        try:
            os.ftruncate(fd, size)
            os.fsync(fd)
        finally:
            os.close(fd)
