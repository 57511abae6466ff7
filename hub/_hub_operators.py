"""Operators fetched from a hub instead of installed (issue #10, item 1).

The hub's JSON API already carries what the registry reads from entry points (the
operators of each version, read statically from the wheel) plus the wheel's URL and
sha256 and the distribution's requirements, so a driver can describe an operator
(:class:`~hub.OperatorSpec` with a :class:`~hub._operator.HubOrigin`) without installing or
importing anything of it. Its code runs only where an env installs that exact wheel.
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from ._exceptions import HubError, HubResponseError, InvalidOperator, ProjectNotFound
from ._operator import HubOrigin, OperatorSpec, normalize_name
from .metadata import with_defaults

if TYPE_CHECKING:
    from .client import HubClient, WheelRank

def fetch_spec(client: HubClient, requirement: str) -> OperatorSpec:
    """The spec of operator ``NAME`` or ``NAME==VERSION`` (any specifier) on the hub."""
    req = _parse(requirement)
    name = normalize_name(req.name)
    project = find_project(name, client)
    release = choose_release(project, req.specifier)
    entry = _operator_entry(release, name, project["name"])
    return spec_from_entry(entry, _origin(client.url, project["name"], release))


def notice(spec: OperatorSpec) -> str:
    """The one line a user sees when an operator comes from the hub."""
    origin = spec.origin
    assert origin is not None
    return (f"opshub: operator {spec.name!r} is {origin.distribution} {origin.version} from "
            f"the hub at {origin.hub_url} (not installed here: it runs on Ray stages)")


def print_notice(spec: OperatorSpec) -> None:
    """Print :func:`notice` on stderr, as torch.hub and pip report where code came from."""
    print(notice(spec), file=sys.stderr)


def choose_release(project: Mapping[str, Any], specifier: SpecifierSet) -> dict[str, Any]:
    """The newest version matching ``specifier``; yanked ones only when pinned with ``==``
    (PEP 592)."""
    pinned = {s.version for s in specifier if s.operator in ("==", "===")}
    for release in project.get("versions", []):
        version = str(release.get("version", ""))
        if release.get("yanked") and version not in pinned:
            continue
        if _matches(specifier, version):
            return dict(release)
    available = ", ".join(str(r.get("version")) for r in project.get("versions", []))
    raise HubError(f"{project.get('name')} has no version matching {specifier or 'any'} on "
                   f"the hub (yanked versions need an exact ==) — available: "
                   f"{available or 'none'}")


def spec_from_entry(entry: Mapping[str, Any], origin: HubOrigin) -> OperatorSpec:
    """An :class:`OperatorSpec` from one operator of the hub's project JSON."""
    try:
        return OperatorSpec.from_registration(
            str(entry["name"]), str(entry["target"]), with_defaults(entry),
            distribution=origin.distribution, version=origin.version, origin=origin)
    except KeyError as exc:
        raise InvalidOperator(f"the hub at {origin.hub_url} describes an operator of "
                              f"{origin.distribution} {origin.version} without {exc}; "
                              "republish it with a current `hub publish`") from None


def choose_wheel(files: Sequence[Mapping[str, Any]], project: str, version: str, *,
                 rank: WheelRank | None = None, target: str = "") -> Mapping[str, Any]:
    """A release's wheel: with ``rank`` (filename -> 0 for the best, None when the target
    cannot install it) the best one for ``target``, refusing in one line when none fits;
    without, the pure-Python wheel if there is one, else the first."""
    wheels = _wheel_files(files, project, version)
    if rank is None:
        pure = [f for f in wheels if str(f["filename"]).endswith("-none-any.whl")]
        return (pure or wheels)[0]
    ranked = [(r, i) for i, f in enumerate(wheels) if (r := rank(str(f["filename"]))) is not None]
    if not ranked:
        names = ", ".join(str(f["filename"]) for f in wheels)
        raise HubError(f"{project} {version} on the hub has no wheel for {target or 'the target'} "
                       f"(it has {names}) — publish a wheel built for it with `hub publish`, "
                       "or run the stage on nodes one of these fits")
    return wheels[min(ranked)[1]]


def _wheel_files(files: Sequence[Mapping[str, Any]], project: str, version: str
                 ) -> list[Mapping[str, Any]]:
    wheels = [f for f in files if str(f.get("filename", "")).endswith(".whl")]
    if not wheels:
        raise HubError(f"{project} {version} has no wheel on the hub; publish one with "
                       "`hub publish`")
    return wheels


def _parse(requirement: str) -> Requirement:
    try:
        return Requirement(requirement)
    except InvalidRequirement:
        raise HubError(f"{requirement!r} is not an operator requirement — write NAME or "
                       "NAME==VERSION, e.g. 'image-embed==0.1.0'") from None


def _matches(specifier: SpecifierSet, version: str) -> bool:
    try:
        return specifier.contains(Version(version), prereleases=True)
    except InvalidVersion:
        return False


def _operator_entry(release: Mapping[str, Any], name: str, project: str) -> dict[str, Any]:
    operators = [dict(op) for op in release.get("operators", []) if isinstance(op, dict)]
    named = [op for op in operators if normalize_name(str(op.get("name", ""))) == name]
    if named:
        return named[0]
    if len(operators) == 1 and normalize_name(project) == name:
        return operators[0]  # the project's name for its only operator
    listed = ", ".join(repr(op.get("name")) for op in operators) or "none"
    raise HubError(f"{project} {release.get('version')} on the hub registers no operator "
                   f"{name!r} (it registers {listed}); ask for one of those")


def _origin(hub_url: str, project: str, release: Mapping[str, Any]) -> HubOrigin:
    """Where the operator comes from; its wheel is chosen when a stage's target is known
    (``Planner``), so here the release need only have one."""
    version = str(release.get("version", ""))
    _wheel_files(release.get("files", []), project, version)
    return HubOrigin(hub_url=hub_url, distribution=project, version=version,
                     requires_dist=tuple(str(r) for r in release.get("requires_dist") or ()),
                     requires_python=release.get("requires_python") or None)


def find_project(name: str, client: HubClient) -> dict[str, Any]:
    """A hub project by its name or by the name of an operator it registers (one lookup
    rule for `hub install`, `hub search` and operators fetched from the hub)."""
    try:
        return client.project(name)
    except ProjectNotFound:
        candidates = _candidates(name, client)
    owners = sorted({r["name"] for r in candidates if name in r.get("operators", [])})
    if len(owners) == 1:
        return client.project(owners[0])
    if owners:
        raise HubError(f"operator {name!r} is published by {' and '.join(owners)} — "
                       "install one of them by its project name")
    known = {r["name"] for r in candidates}
    known |= {op for r in candidates for op in r.get("operators", [])}
    raise ProjectNotFound(name, client.url, difflib.get_close_matches(name, sorted(known), n=3))


def _candidates(name: str, client: HubClient) -> list[dict[str, Any]]:
    """Search results for ``name``, and every project when none registers it."""
    results = client.search(name)
    if any(name in r.get("operators", []) for r in results):
        return results
    try:
        return results + client.search("")
    except HubResponseError:  # a hub that refuses an empty query: the matches are all we have
        return results
