"""The storage's journal: one JSON line per committed change, appended before the commit.

What only the database knows (upload times, yank state, tokens) is also written
here, fsynced, inside the same write lock, so a database that is deleted, emptied,
damaged or rolled back to an older backup is rebuilt with nothing lost
(:mod:`hub.server._recovery`). PyPI keeps such a journal too (Warehouse's
``journals`` table). Lines are appended only; a torn last line (a crash mid-write)
and unreadable lines are skipped and counted, and the next append starts on a line of
its own, so a torn line never takes the next event with it.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar

JOURNAL_FILE = "journal.jsonl"


@dataclass(frozen=True)
class FileAdded:
    """A wheel was published (its bytes are in ``files/<project>/<filename>``)."""

    kind: ClassVar[str] = "file"
    project: str
    filename: str
    sha256: str
    upload_time: str


@dataclass(frozen=True)
class MirrorAdded:
    """A third-party wheel was mirrored (its bytes are in ``mirror/<project>/<filename>``)."""

    kind: ClassVar[str] = "mirror"
    project: str
    filename: str
    sha256: str
    upload_time: str


@dataclass(frozen=True)
class YankSet:
    """A version was yanked (``yanked``) or unyanked."""

    kind: ClassVar[str] = "yank"
    project: str
    version: str
    yanked: bool
    reason: str | None
    time: str


@dataclass(frozen=True)
class TokenAdded:
    """An upload token was created (its hash only; ``projects`` None means all)."""

    kind: ClassVar[str] = "token"
    sha256: str
    created: str
    prefix: str | None
    projects: list[str] | None


@dataclass(frozen=True)
class TokenRevoked:
    """An upload token was revoked."""

    kind: ClassVar[str] = "revoke"
    sha256: str
    time: str


Event = FileAdded | MirrorAdded | YankSet | TokenAdded | TokenRevoked
_KINDS: dict[str, type[Event]] = {c.kind: c for c in (FileAdded, MirrorAdded, YankSet,
                                                      TokenAdded, TokenRevoked)}


@dataclass
class JournalState:
    """The journal replayed: the last word on every file, version and token."""

    files: dict[tuple[str, str], FileAdded] = field(default_factory=dict)
    mirrored: dict[tuple[str, str], MirrorAdded] = field(default_factory=dict)
    yanks: dict[tuple[str, str], YankSet] = field(default_factory=dict)
    tokens: dict[str, TokenAdded] = field(default_factory=dict)
    revoked: set[str] = field(default_factory=set)
    unreadable: int = 0  # lines skipped: torn by a crash, or damaged
    exists: bool = False

    def apply(self, event: Event) -> None:
        # A filename is journaled twice only when a commit failed after its line (its file
        # was put back, nothing was published) and the upload came again: the last wins.
        if isinstance(event, FileAdded):
            self.files[(event.project, event.filename)] = event
        elif isinstance(event, MirrorAdded):
            self.mirrored[(event.project, event.filename)] = event
        elif isinstance(event, YankSet):
            self.yanks[(event.project, event.version)] = event
        elif isinstance(event, TokenAdded):
            self.tokens.setdefault(event.sha256, event)
        else:
            self.revoked.add(event.sha256)


class Journal:
    """Append events to ``path`` durably; replay them into a :class:`JournalState`."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, *events: Event) -> None:
        """Write events as JSON lines and fsync them (call it inside the write lock)."""
        lines = "".join(json.dumps({"event": e.kind, **asdict(e)}) + "\n" for e in events)
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            if _torn(fd):  # a crash mid-write left half a line: end it, or it eats this one
                lines = "\n" + lines
            _write_all(fd, lines.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)

    def read(self) -> JournalState:
        """Replay the journal; a missing journal is an empty state."""
        state = JournalState()
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return state
        state.exists = True
        for line in raw.splitlines():
            event = _parse(line)
            if event is None:
                state.unreadable += 1
            else:
                state.apply(event)
        return state


def _torn(fd: int) -> bool:
    """Whether the file does not end with a newline (it is not empty)."""
    size = os.fstat(fd).st_size
    return size > 0 and os.pread(fd, 1, size - 1) != b"\n"


def _write_all(fd: int, data: bytes) -> None:
    while data:  # os.write may write less than asked (a full disk, a signal)
        data = data[os.write(fd, data):]


def _parse(line: bytes) -> Event | None:
    try:
        data: Any = json.loads(line)
        event = _KINDS[data.pop("event")](**data)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    typed = all(_CHECKS[str(f.type)](getattr(event, f.name)) for f in fields(event))
    return event if typed else None


_CHECKS = {  # the field annotations used above (strings: `from __future__ import annotations`)
    "str": lambda v: isinstance(v, str),
    "bool": lambda v: isinstance(v, bool),
    "str | None": lambda v: v is None or isinstance(v, str),
    "list[str] | None": lambda v: v is None or (isinstance(v, list)
                                                and all(isinstance(i, str) for i in v)),
}
