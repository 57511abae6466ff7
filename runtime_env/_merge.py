"""Operators fused in one stage share one env: their pins must agree."""

from __future__ import annotations

from collections.abc import Mapping

from ._errors import PinConflict
from ._lock import Lock


def merge(locks: Mapping[str, Lock]) -> Lock:
    """One lock for operators that share an env (operator name -> its lock).

    Raises :class:`PinConflict` naming both operators and the package when two
    locks pin a package at different versions.
    """
    pins: dict[str, tuple[str, str]] = {}  # package -> (operator, version)
    for operator, lock in locks.items():
        for package, version in lock.pins:
            first = pins.setdefault(package, (operator, version))
            if first[1] != version:
                raise PinConflict(package, [first, (operator, version)])
    resolvers = sorted({lock.resolver for lock in locks.values()} - {""})
    indexes = next((lock.indexes for lock in locks.values() if lock.indexes), ())
    hashes = {p: h for lock in locks.values() for p, h in lock.hashes}
    return Lock.from_pins({p: v for p, (_, v) in pins.items()}, hashes=hashes,
                          resolver="+".join(resolvers), indexes=indexes)
