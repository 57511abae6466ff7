"""`hub install --installer pip` that can never take a hub name from another index.

pip has no index priority (pip#8606): with the hub as ``--index-url`` and the
default index as ``--extra-index-url`` it takes the highest version from either
(#11: a public ``confop 9.0`` beat the hub's ``confop 1.0``, directly and as a
dependency). So pip resolves first, in a dry run whose report says where every
file comes from, and then installs exactly those files:

1. the dry run takes only wheels for hub names (``--only-binary``: a same-named
   sdist elsewhere would run its build code during resolution);
2. a hub name resolved from anywhere but the hub is pinned to the newest hub
   version its dependents accept, and pip resolves again; if pip still takes it
   elsewhere, or no hub version fits, the install is refused with one line;
3. pip's report leaves out what is installed already, so every hub name the
   resolution relies on but does not install (followed through the installed packages'
   requirements) must be a file of the hub's: same version and METADATA; a foreign one
   is refused with one line (#11: a ``confop 9.0`` from another index, already in the
   environment, went unnoticed). Requirements count only when their markers hold in the
   target environment, extras included (``confop>=2; extra == "full"`` does not bind a
   plain install);
4. the install is the report's files, pinned ``==version`` with their sha256
   (``--require-hashes --no-deps``), so nothing can change between the two runs.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.markers import UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from runtime_env import Sources, installer_env

from ._environment import Installed, installed
from ._exceptions import HubError
from ._tools import run

if TYPE_CHECKING:
    from .client import HubClient

MAX_ROUNDS = 3  # one resolution, then re-resolutions with hub names pinned


@dataclass(frozen=True)
class Planned:
    """One file in pip's installation report."""

    name: str  # canonical
    version: str
    url: str
    sha256: str | None
    requires_dist: tuple[str, ...]
    extras: tuple[str, ...]  # the extras it was requested with


@dataclass(frozen=True)
class Report:
    """pip's installation report: the files it would install, and the target's markers."""

    plan: list[Planned]
    environment: dict[str, str]

    def requirements(self, reqs: Sequence[str]) -> list[Requirement]:
        """``reqs`` and the planned files' requirements whose markers hold here."""
        found = [r for r in map(_parsed, reqs) if r and self.applies(r, ())]
        for item in self.plan:
            found += [r for r in map(_parsed, item.requires_dist)
                      if r and self.applies(r, item.extras)]
        return found

    def applies(self, requirement: Requirement, extras: Sequence[str]) -> bool:
        """Whether ``requirement`` of a package requested with ``extras`` binds here."""
        if requirement.marker is None:
            return True
        try:
            return any(requirement.marker.evaluate({**self.environment, "extra": extra})
                       for extra in (*extras, ""))
        except (UndefinedComparison, UndefinedEnvironmentName):
            return True  # an odd marker: count it (stricter, never looser)


def pip_install(reqs: Sequence[str], client: HubClient, python: str, sources: Sources) -> None:
    """Install ``reqs`` with pip into ``python`` from ``sources`` (the hub first), hub names
    from the hub only."""
    hub_names = set(client.projects())
    pins: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="hub-pip-") as tmp:
        for _ in range(MAX_ROUNDS):
            report = _dry_run(reqs, client, python, sources, hub_names, pins, Path(tmp))
            foreign = [p for p in report.plan if p.name in hub_names and not _from_hub(p, client)]
            if not foreign:
                break
            pins |= _hub_pins(foreign, report, reqs, client, pins)
        else:
            raise _taken_elsewhere(foreign[0], client)
        _check_installed(report, reqs, hub_names, client, python)
        if report.plan:
            lock = Path(tmp) / "lock.txt"
            lock.write_text("".join(_locked(p) for p in report.plan), encoding="utf-8")
            run("installing " + ", ".join(reqs),
                _pip(python, client, sources, "--no-deps", "--require-hashes", "-r",
                     str(lock)), echo=True, env=installer_env())


def _pip(python: str, client: HubClient, sources: Sources, *args: str) -> list[str]:
    return [python, "-m", "pip", "install", "--index-url", client.index_url,
            *sources.pip_args(after_hub=True), *args]


def _dry_run(reqs: Sequence[str], client: HubClient, python: str, sources: Sources,
             hub_names: set[str], pins: Mapping[str, str], tmp: Path) -> Report:
    report, constraints = tmp / "report.json", tmp / "constraints.txt"
    constraints.write_text("".join(f"{n}=={v}\n" for n, v in sorted(pins.items())),
                           encoding="utf-8")
    only_binary = ",".join(sorted(hub_names)) or ":none:"
    run("resolving " + ", ".join(reqs),
        _pip(python, client, sources, "--dry-run", "--quiet", "--report", str(report),
             "--only-binary", only_binary, "-c", str(constraints), *reqs), env=installer_env())
    return _read_report(report)


def _read_report(path: Path) -> Report:
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
        environment = {str(k): str(v) for k, v in data["environment"].items()}
        return Report([_planned(item) for item in data["install"]], environment)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise HubError(f"pip's installation report {path} is unreadable ({exc}); pip 22.2 "
                       "or newer is needed for `--installer pip` — upgrade pip in that "
                       "environment, or use --installer uv") from None


def _planned(item: dict[str, Any]) -> Planned:
    info, meta = item["download_info"], item["metadata"]
    hashes = info.get("archive_info", {}).get("hashes", {})
    return Planned(canonicalize_name(meta["name"]), str(meta["version"]), str(info["url"]),
                   hashes.get("sha256"), tuple(meta.get("requires_dist") or ()),
                   tuple(item.get("requested_extras") or ()))


def _from_hub(planned: Planned, client: HubClient) -> bool:
    return planned.url.startswith(client.url + "/")


def _hub_pins(foreign: Sequence[Planned], report: Report, reqs: Sequence[str],
              client: HubClient, pins: Mapping[str, str]) -> dict[str, str]:
    """For each hub name pip took elsewhere: the newest hub version its dependents accept."""
    new: dict[str, str] = {}
    for planned in foreign:
        if planned.name in pins:  # pinned already, and pip still took it elsewhere
            raise _taken_elsewhere(planned, client)
        new[planned.name] = _hub_version(planned, report, reqs, client)
    return new


def _hub_version(planned: Planned, report: Report, reqs: Sequence[str],
                 client: HubClient) -> str:
    wanted = [r for r in report.requirements(reqs) if canonicalize_name(r.name) == planned.name]
    versions = [str(v["version"]) for v in client.project(planned.name)["versions"]
                if not v["yanked"]]
    fitting = [v for v in versions
               if all(r.specifier.contains(v, prereleases=True) for r in wanted)]
    if not fitting:
        raise HubError(
            f"pip would install {planned.name} {planned.version} from {planned.url}, but "
            f"{planned.name} is a project on the hub at {client.url} (versions "
            f"{', '.join(versions) or 'none'}) and none fits "
            f"{', '.join(map(str, wanted))}: refusing (dependency confusion) — publish the "
            "version that is needed to the hub")
    return max(fitting, key=_version_key)


def _check_installed(report: Report, reqs: Sequence[str], hub_names: set[str],
                     client: HubClient, python: str) -> None:
    """Every hub name the install relies on but pip leaves out (installed already) must
    be the hub's own file; followed through the installed packages' requirements."""
    present = installed(python)
    planned = {p.name for p in report.plan}
    queue = [(canonicalize_name(r.name), tuple(r.extras)) for r in report.requirements(reqs)]
    seen: set[str] = set()
    while queue:
        name, extras = queue.pop()
        if name in seen or name in planned or name not in present:
            continue
        seen.add(name)
        dist = present[name]
        if name in hub_names and not dist.direct:  # (a folder or URL install is deliberate)
            _check_hub_file(dist, client, python)
        queue += [(canonicalize_name(r.name), tuple(r.extras)) for r in map(_parsed, dist.requires)
                  if r and report.applies(r, extras)]


def _check_hub_file(dist: Installed, client: HubClient, python: str) -> None:
    versions = client.project(dist.name)["versions"]
    files = [f for v in versions if _version_key(str(v["version"])) == _version_key(dist.version)
             for f in v["files"]]
    if any(f.get("metadata_sha256") in (None, dist.metadata_sha256) for f in files):
        return  # (None: a hub from before the API gave it; the version must do)
    why = ("its METADATA is not that of any file of that version on the hub" if files
           else f"the hub has {', '.join(str(v['version']) for v in versions) or 'no version'}")
    raise HubError(
        f"{dist.name} {dist.version} is installed in {python} but is not the hub's "
        f"{dist.name} ({why}): refusing (dependency confusion: it came from another index) "
        f"— uninstall it (`{python} -m pip uninstall {dist.name}`) and run `hub install` "
        "again, which takes it from the hub at " + client.url)


def _parsed(requirement: str) -> Requirement | None:
    try:
        return Requirement(requirement)
    except InvalidRequirement:
        return None


def _version_key(version: str) -> Version:
    try:
        return Version(version)
    except InvalidVersion:
        return Version("0")


def _taken_elsewhere(planned: Planned, client: HubClient) -> HubError:
    return HubError(
        f"pip takes {planned.name} {planned.version} from {planned.url}, but {planned.name} "
        f"is a project on the hub at {client.url}: refusing (dependency confusion: another "
        "index serves a file of the same name and version) — install with `--installer uv`, "
        "which takes hub names from the hub only")


def _locked(planned: Planned) -> str:
    if not planned.sha256:
        raise HubError(f"pip's report gives no sha256 for {planned.name} {planned.version} "
                       f"({planned.url}), so it cannot be installed hash-checked — use "
                       "--installer uv")
    return f"{planned.name}=={planned.version} --hash=sha256:{planned.sha256}\n"
