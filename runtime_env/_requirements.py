"""What an operator needs, and what an environment (the driver's, or a node's as surveyed)
already has: requirements with markers evaluated for a target, and walks over metadata."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import importlib_metadata
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from hub import InvalidOperator, OperatorSpec

from ._target import Target

BASE_ROOT = "ray[default]"
# What `import hub` needs on a worker that gets opshub through py_modules.
HUB_RUNTIME = ("pluggy", "importlib-metadata", "platformdirs")
# Never resolved or installed per operator: provided by py_modules or by the node.
SELF = {"opshub"}

# name -> (version, Requires-Dist lines) in some environment, or None when absent
Lookup = Callable[[str], "tuple[str, list[str]] | None"]


def spec_requirements(spec: OperatorSpec, target: Target) -> list[str]:
    """An operator's third-party requirements for ``target``: from the hub's metadata for
    an operator fetched from the hub, from the installed distribution otherwise."""
    if spec.origin is not None:
        return applicable(spec.origin.requires_dist, target, (), spec.origin.distribution)
    if not spec.distribution:
        raise InvalidOperator(f"operator {spec.name!r} has no distribution: only installed "
                              "operators or operators from the hub can be locked")
    return requirements_for(spec.distribution, target)


def requirements_for(distribution: str, target: Target, extras: Iterable[str] = ()) -> list[str]:
    """The installed distribution's requirements that apply to ``target``."""
    try:
        raw = importlib_metadata.requires(distribution) or []
    except importlib_metadata.PackageNotFoundError:
        raise InvalidOperator(
            f"distribution {distribution!r} is not installed; install it with "
            f"`hub install {distribution}`"
        ) from None
    return applicable(raw, target, extras, distribution)


def applicable(lines: Iterable[str], target: Target, extras: Iterable[str], who: str
               ) -> list[str]:
    """Requirement lines whose markers hold on ``target`` (markers dropped), opshub left out."""
    wanted = [_parse(line, who) for line in lines]
    kept = [r for r in wanted if _applies(r, target, set(extras) or {""})]
    return sorted({_without_marker(r) for r in kept if canonicalize_name(r.name) not in SELF})


def driver_lookup(name: str) -> tuple[str, list[str]] | None:
    """This driver's installed version and requirements of ``name``."""
    try:
        dist = importlib_metadata.distribution(name)
    except importlib_metadata.PackageNotFoundError:
        return None
    return dist.version, list(dist.requires or [])


def closure(root: str, lookup: Lookup, target: Target) -> dict[str, str]:
    """``root`` and its installed dependency closure in an environment: name -> version."""
    pins: dict[str, str] = {}
    seen: set[tuple[str, tuple[str, ...]]] = set()
    todo = [Requirement(root)]
    while todo:
        req = todo.pop()
        name, found = canonicalize_name(req.name), lookup(req.name)
        if found is None or (name, tuple(sorted(req.extras))) in seen:
            continue  # not installed there (not part of this closure), or walked already
        seen.add((name, tuple(sorted(req.extras))))
        pins[name] = found[0]
        todo.extend(_children(found[1], req.extras, target))
    return dict(sorted(pins.items()))


def base_constraints(target: Target, root: str = BASE_ROOT) -> dict[str, str]:
    """``ray[default]`` and its dependency closure on this driver: name -> version."""
    return closure(root, driver_lookup, target)


def unsatisfied(requirements: Iterable[str], lookup: Lookup, target: Target) -> list[str]:
    """The requirements (walked recursively through the environment's own metadata) that
    the environment does not satisfy, each with what it found."""
    missing: list[str] = []
    seen: set[tuple[str, tuple[str, ...]]] = set()
    todo = [Requirement(r) for r in requirements]
    while todo:
        req = todo.pop()
        key = (canonicalize_name(req.name), tuple(sorted(req.extras)))
        if key in seen:
            continue
        seen.add(key)
        found = lookup(req.name)
        if found is None:
            missing.append(str(req))
        elif not req.specifier.contains(found[0], prereleases=True):
            missing.append(f"{req} (found {found[0]})")
        else:
            todo.extend(_children(found[1], req.extras, target))
    return sorted(missing)


def installed_version(name: str) -> str | None:
    """The driver's installed version of a distribution, or None."""
    found = driver_lookup(name)
    return found[0] if found else None


def _children(raw: list[str], extras: Iterable[str], target: Target) -> list[Requirement]:
    reqs = [Requirement(line) for line in raw]
    return [Requirement(_without_marker(r)) for r in reqs
            if _applies(r, target, set(extras) | {""})]


def _parse(line: str, distribution: str) -> Requirement:
    try:
        return Requirement(line)
    except InvalidRequirement as exc:
        raise InvalidOperator(
            f"distribution {distribution!r} declares an invalid requirement {line!r}: {exc}; "
            "fix its metadata and reinstall it"
        ) from None


def _applies(req: Requirement, target: Target, extras: set[str]) -> bool:
    if req.marker is None:
        return True
    env = target.marker_environment()
    return any(req.marker.evaluate({**env, "extra": extra}) for extra in extras)


def _without_marker(req: Requirement) -> str:
    req = Requirement(str(req))
    req.marker = None
    return str(req)
