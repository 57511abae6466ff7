"""What one resolution depends on; its canonical hash is the lock cache's key."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from ._sources import PYPI, Cooldown, Sources
from ._target import Target

# Bumped whenever a cached lock's meaning or shape changes: older entries become misses.
LOCK_FORMAT = 3  # 3: unsafe-first-match, config isolation, origins


class ResolverId(Protocol):
    """What of a resolver goes into a cache key."""

    @property
    def name(self) -> str: ...

    @property
    def version(self) -> str: ...


@dataclass(frozen=True)
class LockRequest:
    """Requirements to lock for a target, under hard ``constraints`` (Ray's closure on the
    nodes: never moved) and soft ``preferences`` (what every target node already has:
    kept when the requirements accept it), from ``sources``, with an optional cooldown."""

    requirements: tuple[str, ...]
    constraints: tuple[tuple[str, str], ...]
    target: Target
    sources: Sources = field(default_factory=Sources)
    preferences: tuple[tuple[str, str], ...] = ()
    cooldown: Cooldown | None = None
    spared: tuple[str, ...] = ()  # packages the cooldown never applies to (the hub's own)

    @classmethod
    def create(cls, requirements: Sequence[str], constraints: Mapping[str, str],
               target: Target, sources: Sources | Sequence[str] | None = None, *,
               preferences: Mapping[str, str] | None = None,
               cooldown: Cooldown | None = None, spared: Sequence[str] = ()) -> LockRequest:
        if not isinstance(sources, Sources):  # a list of index URLs, the last the default
            urls = list(sources or ()) or [PYPI]
            sources = Sources(urls[-1], tuple(urls[:-1]))
        return cls(tuple(sorted(set(requirements))), tuple(sorted(constraints.items())),
                   target, sources, tuple(sorted((preferences or {}).items())), cooldown,
                   tuple(sorted(set(spared))))

    def constrained(self, pins: Mapping[str, str]) -> LockRequest:
        """The same request with more hard pins (e.g. the CPU build of torch)."""
        merged = {**dict(self.constraints), **pins}
        return replace(self, constraints=tuple(sorted(merged.items())))

    @property
    def indexes(self) -> tuple[str, ...]:
        """Every index searched, hub first and the default index last."""
        return self.sources.searched

    def key(self, resolver: ResolverId) -> str:
        cooldown = self.cooldown
        data = {"format": LOCK_FORMAT, "requirements": self.requirements,
                "constraints": self.constraints, "preferences": self.preferences,
                "target": self.target.to_dict(), "sources": self.sources.to_dict(),
                "cooldown": [cooldown.setting, cooldown.exceptions] if cooldown else None,
                "spared": self.spared,
                "resolver": resolver.name, "resolver_version": resolver.version}
        canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()
