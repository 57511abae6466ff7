"""A content-addressed cache of locks: one JSON file per resolution request.

The key hashes everything that can change the answer (requirements, constraints,
target, indexes, resolver and its version). Writers take a per-key file lock and
publish with an atomic rename, so concurrent processes resolve once and readers
never see a partial file; a warm lookup is one file read, no resolver.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock

from hub._config import load_settings

from ._lock import Lock
from ._resolvers import Resolver
from ._target import Target


@dataclass(frozen=True)
class LockRequest:
    """Everything a resolution depends on; its hash is the cache key."""

    requirements: tuple[str, ...]
    constraints: tuple[tuple[str, str], ...]
    target: Target
    indexes: tuple[str, ...]

    @classmethod
    def create(cls, requirements: Sequence[str], constraints: Mapping[str, str],
               target: Target, indexes: Sequence[str]) -> LockRequest:
        return cls(tuple(sorted(set(requirements))), tuple(sorted(constraints.items())),
                   target, tuple(indexes))

    def key(self, resolver: Resolver) -> str:
        data = {"requirements": self.requirements, "constraints": self.constraints,
                "target": self.target.to_dict(), "indexes": self.indexes,
                "resolver": resolver.name, "resolver_version": resolver.version}
        canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


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
        """The cached lock, or None (a damaged entry counts as missing)."""
        try:
            return Lock.from_json(json.loads(self.path(key).read_text())["lock"])
        except (OSError, ValueError, KeyError):
            return None

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
                lock = resolver.resolve(request.requirements, dict(request.constraints),
                                        request.target, request.indexes)
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


def _entry(path: Path) -> CacheEntry | None:
    try:
        data = json.loads(path.read_text())
        lock = Lock.from_json(data["lock"])
    except (OSError, ValueError, KeyError):
        return None
    return CacheEntry(path.stem, path, tuple(data.get("requirements", ())), lock.resolver,
                      len(lock.pins), float(data.get("created", 0)), path.stat().st_size)
