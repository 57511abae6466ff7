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

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from packaging.utils import canonicalize_name

from hub import OperatorSpec

from ._builds import Needed, SourceFile, find_wheel, local_path, tag_rank
from ._lock import Lock
from ._planner import Planner
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
