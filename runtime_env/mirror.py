"""What `hub mirror` and `hub bundle` copy (issue #14): every wheel an env of some
operators installs on a target, found in the upstream sources by the lock's sha256.

For each target the planner gives the locks an env installs from (``Planner.locks``:
the operators', what ``import hub`` needs, the pinned uv the nodes build with). Each
pin's wheel is the file the sources offer for that version whose sha256 the lock holds
and whose tags the target takes, the best-ranked one (what an installer would pick).
Projects of the hub are its own: never mirrored.

A public module: the face of runtime_env that `hub mirror` and `hub bundle`
(``hub/_mirror.py``, ``hub/_bundling.py``) build on, as users build on ``runtime_env``.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from hub import OperatorSpec

from ._builds import Fetch, SourceFile, http_get, source_files, tag_rank
from ._errors import MirrorError
from ._lock import Lock
from ._planner import Planner
from ._sources import Sources
from ._target import Target, parse_platform, target_flags

__all__ = [
    "Needed",
    "SourceFile",
    "TargetLocks",
    "find_wheel",
    "local_path",
    "tag_rank",
    "target_flags",
    "target_locks",
    "targets",
]


@dataclass(frozen=True)
class Needed:
    """One pin an env installs: the versions' files the lock accepts, by sha256."""

    name: str
    version: str
    hashes: frozenset[str]
    target: Target

    def describe(self) -> str:
        return f"{self.name} {self.version}"


@dataclass(frozen=True)
class TargetLocks:
    """The locks of one target, by role (``operator``, ``runtime``, ``node-tool``)."""

    target: Target
    locks: dict[str, Lock] = field(default_factory=dict)

    def needed(self, hub_names: Iterable[str] = ()) -> list[Needed]:
        """Every pin of every lock, once, minus the hub's own projects."""
        skip = {canonicalize_name(n) for n in hub_names}
        pins: dict[tuple[str, str], set[str]] = {}
        for lock in self.locks.values():
            hashes = lock.hash_dict
            for name, version in lock.pins:
                if name not in skip:
                    pins.setdefault((name, version), set()).update(hashes.get(name, ()))
        return [Needed(n, v, frozenset(h), self.target) for (n, v), h in sorted(pins.items())]


def target_locks(planner: Planner, specs: Sequence[OperatorSpec], target: Target
                 ) -> TargetLocks:
    """The locks an env of ``specs`` installs from on a bare node of ``target``."""
    scope = planner.scope(specs, target=target)
    return TargetLocks(scope.target, planner.locks(specs, scope))


def find_wheel(needed: Needed, sources: Sources, fetch: Fetch = http_get) -> SourceFile:
    """The sources' file for ``needed`` (its sha256 one of the lock's), best for its target;
    MirrorError naming the pin and the sources when none is."""
    if not needed.hashes:
        raise MirrorError(f"the lock pins {needed.describe()} without a sha256, so no file "
                          "can be checked against it; lock from an index that serves hashes")
    found = [f for f in source_files(needed.name, sources, fetch)
             if _version_of(f.filename) == _version(needed.version) and f.fits(needed.target)]
    known = [_with_hash(f) for f in found]
    usable = [f for f in known if f.sha256 is None or f.sha256 in needed.hashes]
    if not usable:
        why = (f"{len(found)} file(s) of that version fit it, none with the lock's sha256"
               if found else "no wheel of that version fits it")
        raise MirrorError(f"cannot mirror {needed.describe()} for {needed.target.describe()}: "
                          f"{why} in the sources ({sources.describe()}) — add the index or "
                          "folder the lock was made from (PIP_INDEX_URL, HUB_FIND_LINKS, ...)")
    return min(usable, key=lambda f: (tag_rank(f.filename, needed.target), f.sha256 is None))


def _with_hash(file: SourceFile) -> SourceFile:
    """A folder's file gets its sha256 (the index gave none), so a same-named wheel with
    other bytes is never picked."""
    path = local_path(file.url)
    if file.sha256 is not None or path is None:
        return file
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return SourceFile(file.filename, file.url, digest.hexdigest(), file.size, file.upload_time)


def local_path(url: str) -> Path | None:
    """The file a find-links URL or path names on this machine, or None for http(s)."""
    if url.startswith(("http://", "https://")):
        return None
    return Path(unquote(urlsplit(url).path)) if url.startswith("file://") else Path(url)


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _version_of(filename: str) -> Version | None:
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename

    try:
        return parse_wheel_filename(filename)[1]
    except (InvalidWheelFilename, InvalidVersion):
        return None


def targets(pythons: Sequence[str], platforms: Sequence[str], accelerators: Sequence[str],
            base: Target | None = None) -> list[Target]:
    """Every combination of the given Pythons, platforms and accelerators (each option
    repeatable or a comma list); an option not given is ``base``'s (this machine's)."""
    base = base or Target.current()
    split = [[v.strip() for item in values for v in item.split(",") if v.strip()]
             for values in (pythons, platforms, accelerators)]
    found = [Target(python, *parse_platform(plat, base.machine), accelerator)
             for python, plat, accelerator in itertools.product(
                 split[0] or [base.python_version],
                 split[1] or [f"{base.platform}/{base.machine}"],
                 split[2] or [base.accelerator])]
    return list(dict.fromkeys(found))
