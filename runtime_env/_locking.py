"""One lock for one request: resolve (cached), fit the accelerator, keep hub names safe.

1. The request resolves as is (one cached resolver run; most locks end here).
2. If a torch-family pin is a build the target cannot use (a CUDA build for a CPU
   node), the sources are listed for builds that fit and the best one is pinned as a
   constraint; the request resolves again (at most ``ATTEMPTS`` candidates).
3. pip-tools never searches the hub and pip ranks indexes alike (pip#8606): a hub name
   among its requirements or in its lock is refused, so another index can never supply
   one (issue #11 item 4). uv searches the hub first and says where each pin came from:
   a hub name from anywhere else (the hub has no version that fits) is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from ._accelerator import Misfit, candidates, misfits
from ._builds import list_builds
from ._cache import LockCache
from ._errors import ResolutionError
from ._lock import Lock
from ._request import LockRequest
from ._resolvers import Resolver
from ._sources import Sources
from ._target import Target

ATTEMPTS = 3
Builds = Callable[[str, Sources, Target], Sequence[Version]]


def lock_request(request: LockRequest, resolver: Resolver, cache: LockCache, *,
                 hub_names: Iterable[str] = (), builds: Builds = list_builds) -> Lock:
    """The lock for ``request``, with builds the target can run and hub names only from
    the hub."""
    hub: set[str] = {canonicalize_name(n) for n in hub_names}
    _refuse_hub_names(resolver, [Requirement(r).name for r in request.requirements], hub)
    lock = cache.get_or_resolve(request, resolver)
    wrong = misfits(lock, request.target)
    if wrong:
        lock = _refit(request, resolver, cache, wrong, builds)
    _refuse_hub_names(resolver, [name for name, _ in lock.pins], hub, locked=True)
    _refuse_foreign_hub_pins(lock, request.sources.hub_index, hub)
    return lock


def _refit(request: LockRequest, resolver: Resolver, cache: LockCache, wrong: list[Misfit],
           builds: Builds) -> Lock:
    options = {m.package: candidates(m, builds(m.package, request.sources, request.target),
                                     request.target) for m in wrong}
    rounds = min(ATTEMPTS, max(len(found) for found in options.values()))
    for attempt in range(rounds if all(options.values()) else 0):
        pins = {p: found[min(attempt, len(found) - 1)] for p, found in options.items()}
        try:
            lock = cache.get_or_resolve(request.constrained(pins), resolver)
        except ResolutionError:
            continue
        if not misfits(lock, request.target):
            return lock
    raise _no_build(request, wrong, options)


def _no_build(request: LockRequest, wrong: list[Misfit], options: dict[str, list[str]]
              ) -> ResolutionError:
    target = request.target
    what = ", ".join(f"{m.package} {m.version} is a {m.build} build" for m in wrong)
    tried = "; ".join(f"{p}: {', '.join(o[:ATTEMPTS]) or 'none'}" for p, o in options.items())
    index = ("https://download.pytorch.org/whl/cpu" if target.accelerator == "cpu" else
             f"https://download.pytorch.org/whl/{target.accelerator}")
    return ResolutionError(
        f"no build for {target.describe()} satisfies the requirements: {what}, and the "
        f"sources ({request.sources.describe()}) offer no usable one (tried {tried}) — add "
        f"an index or folder with {target.accelerator} builds, e.g. `[hub] "
        f"extra-index-urls = [\"{index}\"]` or HUB_FIND_LINKS, or pass another --accelerator")


def _refuse_hub_names(resolver: Resolver, names: Iterable[str], hub: set[str],
                      locked: bool = False) -> None:
    if resolver.name != "pip-tools" or not hub:
        return
    found = sorted({canonicalize_name(n) for n in names} & hub)
    if found:
        where = "its lock pins" if locked else "the requirements name"
        raise ResolutionError(
            f"pip-tools cannot lock this: {where} {', '.join(found)}, a project of the hub, "
            "and pip takes a name from whichever index offers the highest version "
            "(pip#8606), so another index could supply it — lock with --resolver uv, which "
            "takes hub names from the hub only")


def _refuse_foreign_hub_pins(lock: Lock, hub_index: str | None, hub: set[str]) -> None:
    """A hub name must come from the hub: uv falls through to the next index only when the
    hub has no version that fits, and that is dependency confusion (issue #11 item 4)."""
    if hub_index is None:
        return
    origins = lock.origin_dict
    for name, version in lock.pins:
        origin = origins.get(name)
        if name in hub and origin is not None and \
                origin.rstrip("/") != hub_index.rstrip("/"):
            raise ResolutionError(
                f"the lock takes {name} {version} from {origin}, but {name} is a project of "
                f"the hub ({hub_index}), which has no version that fits the requirements: "
                "refusing (another index must never supply a hub name) — publish the "
                f"version needed to the hub, or change the requirement on {name}")
