"""`hub install` / `hub uninstall`: operator distributions in and out of an environment.

Installs run uv (or pip) in a subprocess against a chosen interpreter. Third-party
dependencies come from the sources every lock uses (:class:`runtime_env.Sources`: pip's
configuration as that interpreter's pip reads it, and the ``[hub]`` settings), given as
options to an installer whose own configuration is off. With uv the hub is the first
index and a name is taken from the first index with a version that fits; the dry run
that plans the install must take every hub name at a version the hub has, so a
same-named package elsewhere can never win (dependency confusion). pip has no index
priority, so it resolves in a dry run that is checked, then installs exactly the checked
files (:mod:`hub._pip_install`). Requested projects whose pins contradict each other are
refused before any installer runs, naming both. Uninstall maps names through entry-point
metadata and never imports operator code.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from packaging.markers import default_environment
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from runtime_env import NotMirrored, PinConflict, PipSources, Sources, installer_env

from ._config import load_settings
from ._environment import Row, interpreter, operator_entry_points, operators_in
from ._exceptions import CommandFailed, HubError
from ._hub_operators import find_project
from ._pip_install import pip_install
from ._tools import find_uv, run
from .offline import missing_package

if TYPE_CHECKING:

    from .client import HubClient

_REMOVAL = re.compile(r"^ - (([A-Za-z0-9._-]+)==\S+)$", re.MULTILINE)  # " - torch==2.13.0"
_ADDITION = re.compile(r"^ \+ ([A-Za-z0-9._-]+)==(\S+)$", re.MULTILINE)  # " + confop==1.0"
PIN_FIX = ("install them into separate environments (--python), or run them from the hub "
           "in separate pipeline stages (each stage gets its own env)")


@dataclass(frozen=True)
class Wanted:
    """A requirement checked against the hub: as typed, with the project's name, and the
    project's JSON (``GET /api/projects/{name}``)."""

    asked: str
    requirement: Requirement
    project: dict[str, Any]

    @property
    def text(self) -> str:
        return str(self.requirement)


@dataclass(frozen=True)
class Change:
    """What an install or uninstall did: operators that appeared or disappeared."""

    distributions: tuple[str, ...]
    added: tuple[Row, ...] = ()
    removed: tuple[Row, ...] = ()
    listed: bool = True  # False: the environment has no opshub to list its operators

    @classmethod
    def between(cls, distributions: Sequence[str], before: set[Row] | None,
                after: set[Row] | None) -> Change:
        """The operators that appeared and disappeared between two listings."""
        if before is None or after is None:
            return cls(tuple(distributions), listed=False)
        return cls(tuple(distributions), added=tuple(sorted(after - before)),
                   removed=tuple(sorted(before - after)))

    def to_dict(self) -> dict[str, Any]:
        return {"distributions": list(self.distributions), "added": _rows(self.added),
                "removed": _rows(self.removed), "listed": self.listed}


def _rows(rows: Sequence[Row]) -> list[dict[str, str]]:
    return [dict(zip(("name", "distribution", "version"), row)) for row in rows]


def install(
    requirements: Sequence[str], client: HubClient, *, python: str | None = None,
    installer: str | None = None, allow_changes: bool = False, offline: bool = False,
) -> Change:
    """Install hub projects (``NAME`` or ``NAME==VERSION``, or operator names) into ``python``.

    Unless ``allow_changes``, an install that would replace an installed package
    other than the requested ones (an upgrade or downgrade of, say, torch) is
    refused before anything changes (uv only: pip has no such plan). ``offline``
    (HUB_OFFLINE): the hub is the only index, third-party packages from its mirror.
    """
    wanted = [resolve_requirement(r, client) for r in requirements]
    check_pins(wanted)
    python = interpreter(python)
    reqs = [w.text for w in wanted]
    installer = installer or default_installer()
    sources = install_sources(client, python, offline)
    before = operators_in(python)
    try:
        if installer == "pip":
            pip_install(reqs, client, python, sources)
        else:
            command = install_command(reqs, sources, python, installer)
            check_plan(command, reqs, client, allow_changes)
            run("installing " + ", ".join(reqs), command, echo=True, env=installer_env())
    except CommandFailed as exc:
        package = missing_package(exc.stderr) if offline else None
        if package is None:
            raise
        raise NotMirrored(package, f"the environment of {python}", [w.project["name"] for w in
                          wanted], client.url, interpreter_flags(python)) from None
    return Change.between(reqs, before, operators_in(python))


def resolve_requirement(text: str, client: HubClient) -> Wanted:
    """Check a requirement against the hub; an operator name becomes its project."""
    try:
        req = Requirement(text)
    except InvalidRequirement:
        raise HubError(
            f"{text!r} is not a requirement — write NAME or NAME==VERSION"
        ) from None
    if req.url:
        raise HubError(f"{text!r} is a URL; `hub install` installs hub projects by name")
    project = find_project(canonicalize_name(req.name), client)
    _check_versions(project, req)
    req.name = project["name"]
    return Wanted(text, req, project)


def check_pins(wanted: Sequence[Wanted]) -> None:
    """Refuse requests whose releases pin one package in ways no version satisfies."""
    seen: dict[str, tuple[str, Requirement]] = {}  # package -> (who asked, its requirement)
    for item in wanted:
        for req in _release_requirements(item):
            package = canonicalize_name(req.name)
            if package in seen and _contradict(seen[package][1], req):
                raise PinConflict(package, [(seen[package][0], str(seen[package][1].specifier)),
                                            (item.asked, str(req.specifier))], fix=PIN_FIX)
            seen.setdefault(package, (item.asked, req))


def _release_requirements(item: Wanted) -> list[Requirement]:
    """The requirements of the release an installer would pick for ``item`` (newest match)."""
    releases = [r for r in item.project["versions"]
                if item.requirement.specifier.contains(r["version"], prereleases=True)]
    usable = [r for r in releases if not r["yanked"]] or releases
    if not usable:
        return []
    release = max(usable, key=lambda r: Version(r["version"]))
    env = {k: str(v) for k, v in default_environment().items()}  # hub's own interpreter
    env["extra"] = ""
    reqs = [Requirement(line) for line in release["requires_dist"]]
    return [r for r in reqs if r.marker is None or r.marker.evaluate(env)]


def _contradict(a: Requirement, b: Requirement) -> bool:
    """Whether an exact pin on one side is outside the other side's specifier."""
    for pinned, other in ((a, b), (b, a)):
        exact = [s.version for s in pinned.specifier if s.operator in ("==", "===")
                 and "*" not in s.version]
        if exact and not other.specifier.contains(exact[0], prereleases=True):
            return True
    return False


def _check_versions(project: dict[str, Any], req: Requirement) -> None:
    versions = [v["version"] for v in project["versions"]]
    if req.specifier and not list(req.specifier.filter(versions, prereleases=True)):
        raise HubError(
            f"{project['name']} has no version matching {req.specifier} on the hub — "
            f"available: {', '.join(versions) or 'none'}"
        )


def check_plan(command: Sequence[str], reqs: Sequence[str], client: HubClient,
               allow_changes: bool = False) -> None:
    """Refuse an install whose uv dry run takes a hub name at a version the hub lacks
    (from another index), or, unless ``allow_changes``, replaces packages that were not
    asked for."""
    plan = run("planning the install", [*command, "--dry-run"], env=installer_env()).stderr
    _check_hub_names(plan, client)
    asked = {canonicalize_name(Requirement(r).name) for r in reqs}
    replaced = [m.group(1) for m in _REMOVAL.finditer(plan)
                if canonicalize_name(m.group(2)) not in asked]
    if replaced and not allow_changes:
        raise HubError(
            f"installing {', '.join(reqs)} would replace {', '.join(replaced)} in this "
            "environment — pass --allow-changes to accept that, or install into another "
            "environment with --python"
        )


def _check_hub_names(plan: str, client: HubClient) -> None:
    """uv takes a name from the next index only when the hub has no version that fits."""
    hub = client.project_names()
    for match in _ADDITION.finditer(plan):
        name, version = canonicalize_name(match.group(1)), match.group(2)
        if name in hub and not _on_hub(client, name, version):
            raise HubError(
                f"uv would install {name} {version} from another index, but {name} is a "
                f"project on the hub at {client.url}, which has no version that fits: "
                "refusing (dependency confusion) — publish the version that is needed")


def _on_hub(client: HubClient, name: str, version: str) -> bool:
    versions = client.project(name).get("versions", [])
    return any(str(v.get("version")) == version for v in versions)


def default_installer() -> str:
    """uv when it is available, else pip."""
    return "uv" if find_uv() else "pip"


def install_sources(client: HubClient, python: str, offline: bool = False) -> Sources:
    """The hub, then the sources of every lock: pip's configuration as ``python``'s pip
    reads it and the ``[hub]`` settings; offline (HUB_OFFLINE) the hub's mirror only."""
    if offline:
        return Sources(client.mirror_index_url, hub_index=client.index_url)
    return Sources.from_settings(load_settings(), PipSources.read(os.environ, python),
                                 client.index_url)


def install_command(reqs: Sequence[str], sources: Sources, python: str, installer: str
                    ) -> list[str]:
    """The uv command that installs ``reqs`` from ``sources`` (the hub first), with no
    other source: run it with :func:`installer_env`. pip has no such command: with the
    hub and another index it takes a hub name from either (pip#8606), so pip installs go
    through :mod:`hub._pip_install`, which checks where each name comes from."""
    if installer != "uv":
        raise ValueError(f"no single {installer} command installs from the hub safely; "
                         "use hub._pip_install.pip_install")
    return [_uv(), "pip", "install", "--no-config", "--python", python,
            *sources.uv_args(), *reqs]


def interpreter_flags(python: str) -> str:
    """The `hub mirror` options naming ``python``'s kind: Python, platform/machine and the
    accelerator of this machine's CUDA driver, as the nodes' survey reports them (`hub
    mirror` defaults to cpu, whose mirror lacks the CUDA builds a GPU machine installs)."""
    from runtime_env import Target, probe_interpreter
    from runtime_env.mirror import target_flags

    found = probe_interpreter(python)
    return target_flags(Target(found.python, found.platform, found.machine,
                               found.accelerator)) if found else ""


def uninstall(names: Sequence[str], *, python: str | None = None,
              installer: str | None = None) -> Change:
    """Uninstall operator distributions named by distribution, entry-point or operator name."""
    python = interpreter(python)
    before = operators_in(python)
    dists = sorted({distribution_of(n, python, before or set()) for n in names})
    command = uninstall_command(dists, python, installer or default_installer())
    run("uninstalling " + ", ".join(dists), command, echo=True)
    return Change.between(dists, before, operators_in(python))


def uninstall_command(dists: Sequence[str], python: str, installer: str) -> list[str]:
    """The uv or pip command that removes ``dists`` from ``python``'s environment."""
    if installer == "uv":
        return [_uv(), "pip", "uninstall", "--python", python, *dists]
    return [python, "-m", "pip", "uninstall", "--yes", *dists]


def distribution_of(name: str, python: str, operators: set[Row]) -> str:
    """The installed operator distribution a name refers to (metadata first, then registry)."""
    key = canonicalize_name(name)
    entry_points = operator_entry_points(python)
    for dist, eps in entry_points.items():
        if key == dist or key in eps:
            return dist
    owners = sorted({d for op, d, _ in operators if op == key})
    if len(owners) == 1:
        return owners[0]
    if owners:
        raise HubError(f"operator {key!r} is registered by {' and '.join(owners)} — "
                       "uninstall one of them by its distribution name")
    known = list(entry_points) + [e for eps in entry_points.values() for e in eps]
    close = difflib.get_close_matches(key, known + [op for op, _, _ in operators], n=3)
    hint = f" — did you mean {', '.join(map(repr, close))}?" if close else "."
    raise HubError(f"no operator distribution or operator {name!r} is installed in {python}"
                   f"{hint} See `hub list`; other packages are uv's or pip's to remove.")


def _uv() -> str:
    uv = find_uv()
    if uv is None:
        raise HubError("uv is not installed — `pip install uv`, or use --installer pip")
    return uv
