"""The plan: specs + locks + survey -> what the env of a stage must add (pure, no Ray).

Each layer goes in only where some node that can run the stage lacks it:

- the operators' third-party pins, hash-pinned (``--require-hashes`` on the node), minus
  what every such node already has at that version;
- each operator's own distribution: its wheel from the hub by exact URL and sha256,
  or, for an installed operator the hub does not serve, its files (``py_modules``);
- opshub itself (``py_modules``) and what ``import hub`` needs, when the nodes lack it.

When the nodes already satisfy everything the answer is None: no env is built at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from packaging.utils import canonicalize_name

from hub import InvalidOperator, OperatorSpec

from ._errors import ResolutionError
from ._lock import Lock
from ._node_tool import NodeTool
from ._survey import Survey
from ._target import Target

OPSHUB = "opshub"


@dataclass(frozen=True)
class Wheel:
    """An operator distribution's wheel on the hub, as the nodes reach it."""

    distribution: str
    version: str
    url: str
    sha256: str

    def line(self) -> str:
        """A direct-URL requirement pip installs only if the file has that sha256."""
        return f"{self.distribution} @ {self.url} --hash=sha256:{self.sha256}"


@dataclass(frozen=True)
class EnvPlan:
    """What a stage's env adds to its nodes, before anything is uploaded.

    ``requirements`` are complete hash-pinned lines for the node's installer, ``tool``
    the pinned uv's wheel it installs them with (the planner finds it);
    ``local_distributions`` are installed operators shipped as files; ``opshub`` says
    whether opshub's own packages go too.
    """

    target: Target
    requirements: tuple[str, ...] = ()
    install_options: tuple[str, ...] = ()
    local_distributions: tuple[str, ...] = ()
    opshub: bool = False
    tool: NodeTool | None = None


def own_pins(specs: Sequence[OperatorSpec]) -> dict[str, str]:
    """Each operator's distribution and the exact version the stage must run."""
    pins: dict[str, str] = {}
    for spec in specs:
        if not spec.distribution or not spec.version:
            raise InvalidOperator(f"operator {spec.name!r} has no distribution and version: "
                                  "only installed operators or operators from the hub run "
                                  "in a planned env")
        pins[canonicalize_name(spec.distribution)] = spec.version
    return pins


def needs_env(specs: Sequence[OperatorSpec], survey: Survey, target: Target,
              opshub_version: str) -> bool:
    """Whether some node lacks an operator (at its version, with all it requires, walked
    through the node's own metadata) or opshub itself."""
    wanted = [f"{d}=={v}" for d, v in own_pins(specs).items()]
    return bool(survey.unsatisfied(wanted, target) or
                survey.missing({OPSHUB: opshub_version}))


def plan_env(specs: Sequence[OperatorSpec], lock: Lock, survey: Survey, *, target: Target,
             install_options: Sequence[str], wheels: Mapping[str, Wheel],
             opshub_version: str, runtime: Lock | None = None) -> EnvPlan | None:
    """The env for ``specs`` on the surveyed nodes, given the merged lock of their
    third-party requirements and ``runtime``, the lock of what ``import hub`` needs.

    ``wheels`` (normalized name -> hub wheel) covers the operators' distributions and any
    hub project the lock pins: those are installed by URL, never from an index.
    """
    opshub = bool(survey.missing({OPSHUB: opshub_version}))
    pins = _merged(lock, runtime) if opshub and runtime else lock
    installed = set(pins.as_dict) - set(survey.missing(pins.as_dict))
    packages = pins.without(installed)
    from_hub = {n for n, v in packages.pins if n in wheels and wheels[n].version == v}
    packages = packages.without(from_hub)
    _check_hashes(packages)
    missing_own = survey.missing(own_pins(specs))
    by_url = sorted(from_hub | {d for d in missing_own if d in wheels})
    local = tuple(sorted(d for d in missing_own if d not in wheels))
    lines = (*packages.hashed_lines(), *(wheels[d].line() for d in by_url))
    if not (lines or local or opshub):
        return None
    return EnvPlan(target, tuple(lines), tuple(install_options) if lines else (), local, opshub)


def _merged(lock: Lock, runtime: Lock) -> Lock:
    pins = {**runtime.as_dict, **lock.as_dict}
    hashes = {**runtime.hash_dict, **lock.hash_dict}
    return Lock.from_pins(pins, hashes=hashes, resolver=lock.resolver or runtime.resolver,
                          indexes=lock.indexes or runtime.indexes)


def _check_hashes(lock: Lock) -> None:
    unhashed = lock.unhashed()
    if unhashed:
        raise ResolutionError(
            f"the lock has no sha256 for {', '.join(unhashed)}: the node installs only hashed "
            "pins (so no other index can supply a package of that name) — use an index that "
            "serves hashes (PEP 503 #sha256= or PEP 691 hashes)")
