"""What an installed operator needs: its distribution's requirements and the base environment."""

from __future__ import annotations

from collections.abc import Iterable

import importlib_metadata
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from hub._exceptions import InvalidOperator

from ._target import Target

BASE_ROOT = "ray[default]"
# What `import hub` needs on a worker that gets opshub through py_modules.
HUB_RUNTIME = ("pluggy", "importlib-metadata", "platformdirs")
# Never resolved or installed per operator: provided by py_modules or by the node.
SELF = {"opshub"}


def requirements_for(distribution: str, target: Target, extras: Iterable[str] = ()) -> list[str]:
    """The distribution's requirements that apply to ``target`` (markers and extras evaluated)."""
    try:
        raw = importlib_metadata.requires(distribution) or []
    except importlib_metadata.PackageNotFoundError:
        raise InvalidOperator(
            f"distribution {distribution!r} is not installed; install it with "
            f"`hub install {distribution}`"
        ) from None
    wanted = [_parse(line, distribution) for line in raw]
    kept = [r for r in wanted if _applies(r, target, set(extras) or {""})]
    return sorted({_without_marker(r) for r in kept if canonicalize_name(r.name) not in SELF})


def base_constraints(target: Target, root: str = BASE_ROOT) -> dict[str, str]:
    """``ray[default]`` and its installed dependency closure: name -> the driver's version."""
    pins: dict[str, str] = {}
    todo = [Requirement(root)]
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        try:
            dist = importlib_metadata.distribution(req.name)
        except importlib_metadata.PackageNotFoundError:
            continue  # not installed on the driver: not part of the base
        if name not in pins:
            pins[name] = dist.version
            todo.extend(_children(dist.requires or [], req.extras, target))
        elif req.extras:
            todo.extend(_children(dist.requires or [], req.extras, target))
    return dict(sorted(pins.items()))


def installed_version(name: str) -> str | None:
    """The driver's installed version of a distribution, or None."""
    try:
        return importlib_metadata.version(name)
    except importlib_metadata.PackageNotFoundError:
        return None


def _children(raw: list[str], extras: set[str], target: Target) -> list[Requirement]:
    reqs = [Requirement(line) for line in raw]
    return [r for r in reqs if _applies(r, target, extras | {""})]


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
