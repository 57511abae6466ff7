"""What the pages show, computed from file records: pure functions, frozen view objects.

Templates only lay these out; every choice (which version is current, how a resource
or a size reads, which install lines a version gets) is made here, once.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from ..._config import DEFAULT_URL
from ...metadata import with_defaults
from .._api import latest, versions_of
from .._simple import file_path
from .._storage import FileRecord

# A hub project's requirements (of its latest version), or None for a name not on the hub.
RequiresOf = Callable[[str], "Sequence[str] | None"]


@dataclass(frozen=True)
class OperatorView:
    """One operator a version registers, as its plugin's ``register(...)`` call says."""

    name: str
    kind: str
    batch: bool
    description: str
    target: str
    resources: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    static: bool  # False: the plugin registers it dynamically; only the entry point is known


@dataclass(frozen=True)
class Card:
    """A project on the home and search pages: its newest version that is not yanked."""

    name: str
    version: str
    summary: str
    keywords: tuple[str, ...]
    operators: tuple[OperatorView, ...]
    upload_time: str
    yanked: bool  # every version is yanked


@dataclass(frozen=True)
class VersionView:
    version: str
    upload_time: str
    yanked: bool
    yanked_reason: str
    current: bool  # the version the page shows


@dataclass(frozen=True)
class FileView:
    filename: str
    url: str
    size: int
    upload_time: str
    sha256: str


@dataclass(frozen=True)
class RequirementView:
    text: str
    hub_project: str | None  # the hub's page links to it when the hub has it


@dataclass(frozen=True)
class InstallLine:
    """A way to install the version: one command or several, run in order."""

    tool: str
    commands: tuple[str, ...]
    note: str


@dataclass(frozen=True)
class ProjectView:
    """Everything the project page shows for one version of a project."""

    name: str
    version: str
    latest: str
    summary: str
    keywords: tuple[str, ...]
    requires_python: str | None
    upload_time: str
    yanked: bool
    yanked_reason: str
    operators: tuple[OperatorView, ...]
    versions: tuple[VersionView, ...]
    files: tuple[FileView, ...]
    requirements: tuple[RequirementView, ...]
    install: tuple[InstallLine, ...]


def card(files: Sequence[FileRecord]) -> Card:
    """The card of a project from its records (the listing's, without README)."""
    record = latest(files)[0]
    return Card(name=record.project, version=record.version, summary=record.summary,
                keywords=tuple(record.keywords), operators=_operators(record),
                upload_time=record.upload_time, yanked=record.yanked)


def version_files(files: Sequence[FileRecord], version: str | None) -> list[FileRecord] | None:
    """The files of ``version`` (None: the newest not yanked), or None if it is not there."""
    if version is None:
        return latest(files)
    return next((group for group in versions_of(files) if group[0].version == version), None)


def project_view(files: Sequence[FileRecord], shown: Sequence[FileRecord], base_url: str,
                 requires_of: RequiresOf) -> ProjectView:
    """The page of the version whose files are ``shown``, among all the project's ``files``."""
    record, newest = shown[0], latest(files)[0]
    pinned = record.version != newest.version or record.yanked  # installers skip yanked
    requirement = f"{record.project}=={record.version}" if pinned else record.project
    return ProjectView(
        name=record.project, version=record.version, latest=newest.version,
        summary=record.summary, keywords=tuple(record.keywords),
        requires_python=record.requires_python,
        upload_time=min(f.upload_time for f in shown), yanked=record.yanked,
        yanked_reason=record.yanked_reason or "", operators=_operators(record),
        versions=tuple(_version(group, record.version) for group in versions_of(files)),
        files=tuple(FileView(f.filename, "/" + file_path(f), f.size, f.upload_time, f.sha256)
                    for f in shown),
        requirements=tuple(_requirement(text, requires_of) for text in record.requires_dist),
        install=install_lines(requirement, base_url,
                              third_party(record.project, record.requires_dist, requires_of)),
    )


def _version(group: Sequence[FileRecord], current: str) -> VersionView:
    first = group[0]
    return VersionView(first.version, min(f.upload_time for f in group), first.yanked,
                       first.yanked_reason or "", first.version == current)


def _requirement(text: str, requires_of: RequiresOf) -> RequirementView:
    req = _parse(text)
    name = canonicalize_name(req.name) if req else None
    return RequirementView(text, name if name and requires_of(name) is not None else None)


# --- operators ----------------------------------------------------------------------


def _operators(record: FileRecord) -> tuple[OperatorView, ...]:
    return tuple(_operator(op) for op in record.operators)


def _operator(op: dict[str, Any]) -> OperatorView:
    metadata = with_defaults(op)
    return OperatorView(
        name=str(op.get("name", "")), kind=str(metadata["kind"]),
        batch=bool(metadata["batch"]), description=str(metadata["description"]),
        target=str(op.get("target", "")), resources=resources_text(metadata),
        inputs=_texts(metadata["inputs"]), outputs=_texts(metadata["outputs"]),
        static=op.get("static", True) is not False,
    )


def resources_text(metadata: dict[str, Any]) -> str:
    """``1 CPU``, ``0.5 CPU · 1 GPU · 2 GiB memory``: what one call needs (an operator's
    metadata, with its defaults)."""
    parts = [f"{_number(metadata['num_cpus'])} CPU"]
    if metadata["num_gpus"]:
        parts.append(f"{_number(metadata['num_gpus'])} GPU")
    if metadata["memory"]:
        parts.append(f"{size_text(metadata['memory'], binary=True)} memory")
    return " · ".join(parts)


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, (int, float)) else str(value)


def _texts(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(str(v) for v in value)
    return (str(value),)


def size_text(size: Any, binary: bool = False) -> str:
    """``12.3 kB`` (decimal, as PyPI shows file sizes) or ``2 GiB`` (memory)."""
    if not isinstance(size, (int, float)):
        return str(size)
    step, units = (1024, ("B", "KiB", "MiB", "GiB", "TiB")) if binary else (
        1000, ("B", "kB", "MB", "GB", "TB"))
    value = float(size)
    for unit in units:
        if value < step or unit == units[-1]:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= step
    raise AssertionError("unreachable")


def time_text(stamp: str) -> str:
    """``2025-01-02T10:11:12.345678Z`` as ``2025-01-02 10:11 UTC``."""
    date, _, clock = stamp.partition("T")
    return f"{date} {clock[:5]} UTC" if clock else stamp


# --- install lines ------------------------------------------------------------------


def install_lines(requirement: str, base_url: str, third_party: Sequence[str]) -> tuple[
        InstallLine, ...]:
    """``hub install``, uv and pip commands that take the operator from this hub only.

    uv gets the hub as a first index (a hub name never comes from PyPI), as `hub install`
    runs it. pip has no index priority (pip#8606), so the hub is its only index and the
    third-party requirements come first, from the default index, in their own command.
    """
    base = base_url.rstrip("/")
    index, req = shlex.quote(f"{base}/simple/"), shlex.quote(requirement)
    prefix = "" if base == DEFAULT_URL else f"HUB_URL={shlex.quote(base)} "
    uv = f"uv pip install --index {index} --index-strategy first-index {req}"
    pip = f"pip install --index-url {index} {req}"
    first = f"pip install {' '.join(map(shlex.quote, third_party))}"
    return (
        InstallLine("hub", (f"{prefix}hub install {req}",),
                    "checks the environment first and refuses to change packages you have"),
        InstallLine("uv", (uv,), "the operator from this hub, the rest from PyPI"),
        InstallLine("pip", (first, pip), "third-party requirements from PyPI, then the "
                                         "operator from this hub only") if third_party
        else InstallLine("pip", (pip,), "from this hub only"),
    )


def third_party(project: str, requires: Sequence[str], requires_of: RequiresOf) -> list[str]:
    """The requirements not on the hub, through hub projects' own requirements (their
    newest versions); requirements of extras are left out, as installers do."""
    found: list[str] = []
    seen = {canonicalize_name(project)}
    queue = list(requires)
    while queue:
        req = _parse(queue.pop(0))
        if req is None or (req.marker is not None and "extra" in str(req.marker)):
            continue
        name = canonicalize_name(req.name)
        if name in seen:
            continue
        hub_requires = requires_of(name)
        if hub_requires is None:
            found += [str(req)] if str(req) not in found else []
        else:
            seen.add(name)
            queue += hub_requires
    return found


def _parse(text: str) -> Requirement | None:
    try:
        return Requirement(text)
    except InvalidRequirement:  # validated at upload; an old row is shown, not trusted
        return None
