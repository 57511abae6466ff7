"""Read a wheel the journal vouches for, leniently (recovery after a database loss, #11).

A file whose sha256 the journal recorded was accepted by this hub once, perhaps before a
rule it now breaks: a filename spelt ``UPOP-1.0-...``, a METADATA over today's 1 MiB
cap, a URL requirement, a long summary. It was published, and installers may have
pinned its hash, so recovery indexes it again instead of quarantining it. Only what
serving it needs is checked: a zip with one ``.dist-info`` whose METADATA names the
folder's project and the filename's version. Operators are read as an upload reads
them when that still works, else taken from the entry points alone.
"""

from __future__ import annotations

import email.parser
import email.policy
import zipfile
from pathlib import Path
from typing import Any

from packaging.utils import InvalidWheelFilename, parse_wheel_filename
from packaging.version import InvalidVersion

# The shared readers of hub._dist (one parser for entry points, operators and READMEs).
from .._dist import (
    _CORRUPT,
    WheelInfo,
    _parse_entry_points,
    _read_operators,
    _readme,
    _same_version,
    _split_keywords,
    file_sha256,
)
from .._exceptions import InvalidDistribution
from .._operator import normalize_name
from ..hookspecs import ENTRY_POINT_GROUP

# Older hubs read METADATA whole with no cap (a 140 MB README was stored, #11); the journal
# vouches for these bytes, so only memory bounds what is read back.
MAX_PUBLISHED_METADATA_BYTES = 256 * 1024 * 1024
MAX_PUBLISHED_ENTRY_POINTS_BYTES = 16 * 1024 * 1024


def read_published(path: Path, project: str,
                   hashed: tuple[str, int] | None = None) -> WheelInfo:
    """The index record of the published wheel at ``path`` in ``project``'s folder;
    InvalidDistribution when it is not a wheel of that project at all. ``hashed``: its
    (sha256, size), when the caller has hashed it already."""
    filename = path.name
    version = _filename_version(filename, project)
    try:
        with zipfile.ZipFile(path) as archive:
            files = _dist_info(filename, archive, project, version)
            metadata = _read(archive, files.get("METADATA"), MAX_PUBLISHED_METADATA_BYTES)
            fields = _fields(filename, metadata, project, version)
            operators = _operators(filename, archive, files.get("entry_points.txt"))
    except InvalidDistribution:
        raise
    except _CORRUPT as exc:
        raise InvalidDistribution(f"{filename}: the archive is corrupt ({exc})") from None
    digest, size = hashed or file_sha256(path)
    return WheelInfo(name=project, version=version, filename=filename, sha256=digest,
                     size=size, metadata=metadata, operators=operators, **fields)


def _filename_version(filename: str, project: str) -> str:
    try:
        name, version, _, _ = parse_wheel_filename(filename)
    except (InvalidWheelFilename, InvalidVersion) as exc:
        raise InvalidDistribution(f"{filename}: not a wheel filename ({exc})") from None
    if normalize_name(name) != project:
        raise InvalidDistribution(f"{filename}: a wheel of {normalize_name(name)!r}, not of "
                                  f"{project!r}")
    return str(version)


def _dist_info(filename: str, archive: zipfile.ZipFile, project: str,
               version: str) -> dict[str, str]:
    """Base name -> member of the one ``.dist-info`` folder naming the project."""
    found: dict[str, dict[str, str]] = {}
    for member in archive.namelist():
        folder, _, base = member.partition("/")
        name, _, spelt = folder.removesuffix(".dist-info").rpartition("-")
        if folder.endswith(".dist-info") and normalize_name(name) == project:
            found.setdefault(spelt, {})[base] = member
    matching = [v for k, v in found.items() if _same_version(k, version)]
    if len(matching) != 1 or "METADATA" not in matching[0]:
        raise InvalidDistribution(f"{filename}: no single {project}-{version}.dist-info "
                                  "with a METADATA")
    return matching[0]


def _read(archive: zipfile.ZipFile, member: str | None, cap: int) -> bytes:
    if member is None:
        return b""
    with archive.open(member) as f:
        data = f.read(cap + 1)
    if len(data) > cap:
        raise InvalidDistribution(f"{member} is over {cap:,} bytes")
    return data


def _fields(filename: str, metadata: bytes, project: str, version: str) -> dict[str, Any]:
    text = metadata.decode("utf-8", "replace")
    msg = email.parser.Parser(policy=email.policy.compat32).parsestr(text)
    name, spelt = msg.get("Name", ""), msg.get("Version", "")
    if normalize_name(name) != project or not _same_version(spelt, version):
        raise InvalidDistribution(f"{filename}: METADATA names {name!r} {spelt!r}, not "
                                  f"{project} {version}")
    return {"summary": (msg.get("Summary") or "").strip(),
            "keywords": _split_keywords(msg.get("Keywords") or ""),
            "requires_dist": [str(r) for r in msg.get_all("Requires-Dist") or []],
            "requires_python": (msg.get("Requires-Python") or "").strip() or None,
            "readme": _readme(msg),
            "readme_content_type": msg.get("Description-Content-Type")}


def _operators(filename: str, archive: zipfile.ZipFile,
               member: str | None) -> list[dict[str, Any]]:
    raw = _read(archive, member, MAX_PUBLISHED_ENTRY_POINTS_BYTES)
    try:
        plugins = _parse_entry_points(filename, raw)[ENTRY_POINT_GROUP]
    except InvalidDistribution:
        return []
    try:
        return _read_operators(filename, archive, plugins)
    except InvalidDistribution:  # a plugin module past today's caps: its entry points
        return [{"name": normalize_name(ep), "target": value.strip(), "static": False,
                 "entry_point": ep} for ep, value in plugins.items()]

