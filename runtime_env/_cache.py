"""A content-addressed cache of locks: one JSON file per resolution request.

The key hashes everything that can change the answer (requirements, constraints,
preferences, target, sources, cooldown, resolver and its version). Writers take a
per-key file lock and publish with an atomic rename, so concurrent processes resolve
once and readers never see a partial file; a warm lookup is one file read, no resolver.
An entry of any other shape (damaged, or valid JSON of the wrong shape) is a miss and
is replaced (issue #11 item 6).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock

from hub.config import load_settings

from ._lock import Lock
from ._request import LockRequest
from ._resolvers import Resolver


@dataclass(frozen=True)
class CacheEntry:
    """One cached lock, as `hub cache list` shows it."""

    key: str
    path: Path
    requirements: tuple[str, ...]
    resolver: str
    pins: int
    created: float
    size: int

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key[:16], "requirements": " ".join(self.requirements) or "-",
                "resolver": self.resolver, "pins": self.pins, "size": self.size,
                "created": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.created))}


class LockCache:
    """Locks on disk under ``<cache_dir>/locks``.

    >>> cache = LockCache.default()                      # doctest: +SKIP
    >>> lock = cache.get_or_resolve(request, UvResolver())  # doctest: +SKIP
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @classmethod
    def default(cls) -> LockCache:
        return cls(load_settings().cache_dir / "locks")

    def path(self, key: str) -> Path:
        return self.root / f"{key}.json"

    def get(self, key: str) -> Lock | None:
        """The cached lock, or None (a damaged or wrong-shape entry counts as missing)."""
        entry = _read(self.path(key))
        return entry[1] if entry else None

    def get_or_resolve(self, request: LockRequest, resolver: Resolver) -> Lock:
        """The cached lock for ``request``, resolving (once, across processes) on a miss."""
        if not request.requirements:  # nothing to resolve, nothing worth a file
            return Lock(resolver=resolver.name, indexes=request.indexes)
        key = request.key(resolver)
        lock = self.get(key)
        if lock is not None:
            return lock
        self.root.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.root / f"{key}.lock")):
            lock = self.get(key)  # another process may have resolved while we waited
            if lock is None:
                lock = resolver.resolve(request)
                self._write(key, request, lock)
        return lock

    def _write(self, key: str, request: LockRequest, lock: Lock) -> None:
        entry = {"lock": lock.to_json(), "requirements": list(request.requirements),
                 "target": request.target.to_dict(), "created": time.time()}
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=f".{key[:8]}-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(entry, f, indent=2)
            os.replace(tmp, self.path(key))  # atomic: readers see all or nothing
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def entries(self) -> list[CacheEntry]:
        """Every cached lock, oldest first."""
        return sorted(filter(None, map(_entry, self.root.glob("*.json"))),
                      key=lambda e: e.created)

    def prune(self, older_than: float | None = None, now: float | None = None) -> int:
        """Delete locks older than ``older_than`` seconds (all when None); return the count."""
        limit = (now or time.time()) - (older_than or 0)
        removed = [e for e in self.entries() if older_than is None or e.created < limit]
        for entry in removed:
            entry.path.unlink(missing_ok=True)
            (self.root / f"{entry.key}.lock").unlink(missing_ok=True)
        return len(removed)


def _read(path: Path) -> tuple[dict[str, Any], Lock] | None:
    """An entry's fields and its lock, or None for anything unreadable or of another shape."""
    try:
        data = json.loads(path.read_text())
        if not isinstance(data, dict) or not isinstance(data.get("lock"), str):
            return None
        requirements, created = data.get("requirements", []), data.get("created", 0)
        if not (isinstance(requirements, list) and all(isinstance(r, str) for r in requirements)
                and isinstance(created, int | float)):
            return None
        return data, Lock.from_json(data["lock"])
    except (OSError, ValueError):
        return None


def _entry(path: Path) -> CacheEntry | None:
    found = _read(path)
    if found is None:
        return None  # `hub cache list` skips it; the next lookup resolves and replaces it
    data, lock = found
    return CacheEntry(path.stem, path, tuple(data["requirements"]), lock.resolver,
                      len(lock.pins), float(data.get("created", 0)), path.stat().st_size)
