"""Why operators cannot share one env: the pair whose requirements contradict, and the package.

Operators sharing an env are locked together, in one resolution over all their
requirements (``Planner.lock``): pins each would get alone may differ where one joint
resolution exists (``numpy`` and ``numpy<2``). Only when that resolution fails is each
operator's share looked at, to name the two operators and the package in a
:class:`~hub.PinConflict`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from itertools import combinations

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from ._errors import PinConflict, ResolutionError
from ._lock import Lock

LockFn = Callable[[Sequence[str]], Lock]  # requirements -> lock; raises ResolutionError


def find_conflict(wanted: Mapping[str, Sequence[str]], lock: LockFn) -> PinConflict | None:
    """The conflict behind a failed joint resolution of ``wanted`` (operator -> its
    requirements), or None when no two operators conflict (three or more together do).

    Each operator is resolved alone (one that fails alone raises its own error: that is
    no conflict), then each pair together; the first pair that fails is the conflict.
    """
    alone = {op: lock(reqs) for op, reqs in wanted.items()}
    union = {r for reqs in wanted.values() for r in reqs}
    for a, b in combinations(wanted, 2):
        together = {*wanted[a], *wanted[b]}
        if together != union:  # the whole union is known to fail: no second run
            try:
                lock(sorted(together))
                continue
            except ResolutionError:
                pass
        return _conflict(a, b, wanted, alone)
    return None


def _conflict(a: str, b: str, wanted: Mapping[str, Sequence[str]], alone: Mapping[str, Lock]
              ) -> PinConflict:
    """The package two operators disagree on: one whose pin in one operator's own lock the
    other's requirement excludes, else the first they pin differently."""
    pins_a, pins_b = alone[a].as_dict, alone[b].as_dict
    differ = [n for n in pins_a if n in pins_b and pins_a[n] != pins_b[n]]
    direct = {op: _specifiers(wanted[op]) for op in (a, b)}
    excluded = [n for n in differ
                if n in direct[b] and not direct[b][n].contains(pins_a[n], prereleases=True)
                or n in direct[a] and not direct[a][n].contains(pins_b[n], prereleases=True)]
    package = (excluded or differ or sorted({*direct[a]} & {*direct[b]}) or ["?"])[0]
    return PinConflict(package, [(op, _how(op, package, direct, alone)) for op in (a, b)])


def _specifiers(requirements: Sequence[str]) -> dict[str, SpecifierSet]:
    """Package -> what the requirements ask of it (lines naming one package combined)."""
    found: dict[str, SpecifierSet] = {}
    for line in requirements:
        req = Requirement(line)
        name = canonicalize_name(req.name)
        found[name] = found.get(name, SpecifierSet()) & req.specifier
    return found


def _how(op: str, package: str, direct: Mapping[str, Mapping[str, SpecifierSet]],
         alone: Mapping[str, Lock]) -> str:
    """What an operator asks of ``package``: its own specifier, else the version its lock
    takes through its dependencies."""
    specifier = str(direct[op].get(package, ""))
    if specifier:
        return specifier
    version = alone[op].as_dict.get(package)
    return f"=={version} (through its requirements)" if version else " (through its requirements)"
