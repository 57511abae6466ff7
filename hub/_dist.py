"""Inspect and validate an operator wheel without running any of its code.

The hub server checks every upload with :func:`inspect_wheel`, and the client
runs the same checks before uploading, so a bad wheel fails on the user's
machine with the same message the server would send. The rules follow PyPI's
(Warehouse ``forklift/legacy.py``): a safe filename whose name and version match
METADATA and in PyPI's canonical form (ASCII, normalized name and version), a
real zip (not also a tar) with only STORED/DEFLATED members, unique UTF-8 member
names with ``/`` separators, no zip bomb, METADATA, WHEEL and RECORD present, no
direct-URL requirements; plus ours: size caps on every member read whole (checked
before reading it), and at least one ``opshub.operators`` entry point. Operators
are read with ``ast`` from the plugin modules (size- and depth-capped), never imported.

>>> info = inspect_wheel(Path("dist/my_ops-1.0-py3-none-any.whl"))  # doctest: +SKIP
>>> info.name, [op["name"] for op in info.operators]                # doctest: +SKIP
('my-ops', ['add-one'])
"""

from __future__ import annotations

import ast
import configparser
import contextlib
import email.message
import email.parser
import email.policy
import hashlib
import re
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag
from packaging.utils import (
    InvalidWheelFilename,
    canonicalize_version,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from ._exceptions import InvalidDistribution, InvalidOperator
from ._operator import normalize_name
from .hookspecs import ENTRY_POINT_GROUP
from .metadata import check_registration, to_json

MAX_FILENAME_LENGTH = 255
MAX_COMPRESSION_RATIO = 50  # uncompressed / compressed, as PyPI
RATIO_CHECK_ABOVE = 10 * 1024 * 1024  # small wheels may compress well; only large ones are bombs
# Members read whole are capped, checked from the zip directory before reading (#11: a
# 3.3 MB wheel held a 140 MB README; 100 MiB uploads at the 50x ratio would allow 5 GB).
# PyPI's figures: its descriptions' 95th percentile is 40 KB (Warehouse legacy.py,
# MAX_DESCRIPTION_LENGTH_TO_BIGQUERY_IN_BYTES) and a summary is at most 512 characters
# (forklift/metadata.py); the largest METADATA in this repo's venv is 144 KB (pydantic),
# the largest entry_points.txt 2.4 KB (setuptools), the deepest first-party plugin 7 levels.
MAX_METADATA_BYTES = 1024 * 1024
MAX_ENTRY_POINTS_BYTES = 64 * 1024
MAX_WHEEL_FILE_BYTES = 16 * 1024  # the WHEEL file: a few short lines
MAX_PLUGIN_SOURCE_BYTES = 256 * 1024  # a plugin module only registers operators
MAX_PLUGIN_DEPTH = 100  # syntax-tree levels; CPython itself stops at 200 nested brackets
MAX_SUMMARY_LENGTH = 512  # characters, as PyPI
# A mirrored wheel's METADATA is upstream's, READMEs included: 4x the operators' cap (PyPI
# itself has no cap; this venv's largest is 144 KB) still keeps a hostile one out of the
# database, which stores it for PEP 658.
MAX_MIRROR_METADATA_BYTES = 4 * MAX_METADATA_BYTES
_MIRROR_FIX = "mirror another release, or a wheel with a shorter README"
_PROJECT_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])\Z",
                           re.IGNORECASE | re.ASCII)  # no Kelvin sign (U+212A) for K
_REQUIRED_FILES = ("METADATA", "WHEEL", "RECORD")
# base name -> (cap, the fix); RECORD is checked for presence, never read.
_READ_CAPS = {
    "METADATA": (MAX_METADATA_BYTES, "shorten the README (the long description)"),
    "WHEEL": (MAX_WHEEL_FILE_BYTES, "rebuild the wheel"),
    "entry_points.txt": (MAX_ENTRY_POINTS_BYTES, "declare fewer entry points"),
}
_PLUGIN_FIX = "keep the plugin module light: it only registers operators"
_CORRUPT = (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, NotImplementedError,
            struct.error)


@dataclass(frozen=True)
class ReleaseKey:
    """What a wheel competes with: the other files of its version an installer could take.

    Once a version has files, a new file for it is accepted only for environments none
    of them serves (a Python, an OS, a CPU no file of the version installs on): where
    two files could both install, installers pick one, preferring a build tag and then
    the more specific tag, so ``upop-1.0-1-py3-none-any.whl`` or
    ``upop-1.0-cp311-cp311-manylinux_2_28_x86_64.whl`` added beside
    ``upop-1.0-py3-none-any.whl`` would silently change what ``pip install upop==1.0``
    gets (#11). Adding a wheel for a new platform or Python stays possible.
    """

    project: str
    version: str  # canonical: 1.0, 1.0.0 and 01.0 are all "1"
    tags: frozenset[Tag]

    def conflicts_with(self, other: ReleaseKey) -> bool:
        same = (self.project, self.version) == (other.project, other.version)
        return same and any(_share_an_environment(a, b) for a in self.tags for b in other.tags)


def release_key(filename: str) -> ReleaseKey:
    """The :class:`ReleaseKey` of a wheel filename (one that :func:`check_filename` accepts)."""
    name, version, _, tags = parse_wheel_filename(filename)
    return ReleaseKey(normalize_name(name), canonicalize_version(version), tags)


@dataclass(frozen=True)
class _Serves:
    """The environments one wheel tag installs in, coarsely (so never fewer than it does):
    an implementation, a Python major and range of minors, an OS and CPUs (None: any).
    Every manylinux tag is one glibc OS, whatever its glibc version."""

    implementation: str | None
    major: str | None
    minors: tuple[int, int]  # inclusive
    os: str | None
    cpus: frozenset[str] | None


_ANY_MINOR = (0, 10**6)
_INTERPRETER = re.compile(r"([a-z]+)(\d)(\d*)\Z")
_LINUX = re.compile(r"(manylinux1|manylinux2010|manylinux2014|manylinux_\d+_\d+|"
                    r"musllinux_\d+_\d+|linux)_(\w+)\Z")
_MAC_CPUS = {"universal2": {"x86_64", "arm64"}, "intel": {"x86_64", "i386"},
             "fat": {"i386", "ppc"}, "fat3": {"x86_64", "i386", "ppc"},
             "fat64": {"x86_64", "ppc64"}, "fat32": {"i386", "ppc"},
             "universal": {"x86_64", "i386", "ppc", "ppc64"}}
_WINDOWS_CPUS = {"win32": "x86", "win_amd64": "x86_64", "win_arm64": "arm64"}


def _serves(tag: Tag) -> _Serves:
    found = _INTERPRETER.match(tag.interpreter)
    if found is None:  # an unknown spelling: assume it installs anywhere
        return _Serves(None, None, _ANY_MINOR, None, None)
    implementation, major, minor = found.groups()
    if not minor:
        minors = _ANY_MINOR
    elif implementation == "py" or tag.abi == "abi3":  # py38 and cp38-abi3: 3.8 and later
        minors = (int(minor), _ANY_MINOR[1])
    else:
        minors = (int(minor), int(minor))
    return _Serves(None if implementation == "py" else implementation, major, minors,
                   *_platform(tag.platform))


def _platform(platform: str) -> tuple[str | None, frozenset[str] | None]:
    if platform == "any":
        return None, None
    linux = _LINUX.match(platform)
    if linux:  # linux_* installs with either C library
        libc = "linux" if platform.startswith("linux") else "musl" if platform.startswith(
            "musl") else "glibc"
        return libc, frozenset({linux.group(2)})
    if platform.startswith("macosx_"):
        cpu = platform.split("_", 3)[-1]
        return "macos", frozenset(_MAC_CPUS.get(cpu, {cpu}))
    if platform in _WINDOWS_CPUS:
        return "windows", frozenset({_WINDOWS_CPUS[platform]})
    return platform, None


def _share_an_environment(a: Tag, b: Tag) -> bool:
    """Whether some interpreter on some machine could install wheels of both tags."""
    x, y = _serves(a), _serves(b)
    return (_either_any_or_equal(x.implementation, y.implementation)
            and _either_any_or_equal(x.major, y.major)
            and max(x.minors[0], y.minors[0]) <= min(x.minors[1], y.minors[1])
            and (x.os is None or y.os is None or x.os == y.os or "linux" in (x.os, y.os)
                 and {x.os, y.os} <= {"linux", "glibc", "musl"})
            and (x.cpus is None or y.cpus is None or bool(x.cpus & y.cpus)))


def _either_any_or_equal(a: str | None, b: str | None) -> bool:
    return a is None or b is None or a == b


@dataclass(frozen=True)
class WheelInfo:
    """What the hub stores and shows about one wheel, read without running it."""

    name: str  # PEP 503 normalized
    version: str
    filename: str
    sha256: str
    size: int
    metadata: bytes  # the METADATA file, served as PEP 658 core metadata
    summary: str = ""
    keywords: list[str] = field(default_factory=list)
    requires_dist: list[str] = field(default_factory=list)
    requires_python: str | None = None
    readme: str = ""
    readme_content_type: str | None = None
    operators: list[dict[str, Any]] = field(default_factory=list)
    entry_points: dict[str, dict[str, str]] = field(default_factory=dict)


def inspect_wheel(path: Path, *, filename: str | None = None) -> WheelInfo:
    """Validate the wheel at ``path`` and read its metadata and operators.

    ``filename`` is the wheel's real name when ``path`` is a temp file (the server's
    upload). Raises :class:`~hub._exceptions.InvalidDistribution` naming the first
    rule broken.
    """
    path = Path(path)
    filename = filename or path.name
    name, version = check_filename(filename)
    with _archive(path, filename, "rebuild it") as archive:
        _check_ratio(filename, path, archive)
        files = _dist_info_files(filename, archive, name, version)
        meta = _parse_metadata(filename, files["METADATA"], name, version)
        entry_points = _parse_entry_points(filename, files.get("entry_points.txt", b""))
        operators = _read_operators(filename, archive, entry_points[ENTRY_POINT_GROUP])
    digest, size = file_sha256(path)
    return WheelInfo(
        name=name, version=version, filename=filename, sha256=digest, size=size,
        metadata=files["METADATA"], operators=operators, entry_points=entry_points, **meta,
    )


def inspect_mirrored(path: Path, *, filename: str | None = None) -> WheelInfo:
    """Validate a third-party wheel for the hub's mirror (issue #14) and read its METADATA.

    Upstream names the file, so its spelling is kept (``PyYAML-6.0.1-...``, ``torch-2.13.0
    +cpu-...``); what is checked is what the mirror serves: a safe wheel filename, a real
    zip with sane member names, one ``.dist-info`` whose METADATA (capped, as for operators,
    but at ``MAX_MIRROR_METADATA_BYTES``) names the filename's project and version. No
    operator rule applies, and its README is not kept (the mirror serves files, not pages).
    """
    path = Path(path)
    filename = filename or path.name
    name, version = check_mirror_filename(filename)
    with _archive(path, filename, "fetch it again") as archive:
        raw = _dist_info_files(filename, archive, name, version,
                               {"METADATA": (MAX_MIRROR_METADATA_BYTES, _MIRROR_FIX)})
    meta = _parse_metadata(filename, raw["METADATA"], name, version, mirrored=True)
    digest, size = file_sha256(path)
    return WheelInfo(name=name, version=version, filename=filename, sha256=digest, size=size,
                     metadata=raw["METADATA"], **meta)


@contextlib.contextmanager
def _archive(path: Path, filename: str, fix: str) -> Iterator[zipfile.ZipFile]:
    """The wheel at ``path`` opened as a zip whose member names passed the checks; any
    damage while it is read (whatever zipfile or zlib raise on hostile bytes) is one
    :class:`InvalidDistribution` ending in ``fix``."""
    if not path.is_file():
        _fail(filename, f"no such file {path}")
    _check_archive_kind(filename, path)
    try:
        with zipfile.ZipFile(path) as archive:
            _check_members(filename, archive)
            yield archive
    except InvalidDistribution:
        raise
    except _CORRUPT as exc:
        _fail(filename, f"the archive is corrupt ({type(exc).__name__}: {exc}); {fix}")


def check_mirror_filename(filename: str) -> tuple[str, str]:
    """A mirrored wheel's filename: safe and a valid wheel name (any spelling upstream
    used); returns its normalized project name and canonical version."""
    if not filename or len(filename) > MAX_FILENAME_LENGTH or not filename.isascii():
        _fail(filename, f"a mirrored filename must be ASCII, 1 to {MAX_FILENAME_LENGTH} "
                        "characters")
    if any(c in filename for c in "/\\") or any(ord(c) < 33 or ord(c) == 127 for c in filename):
        _fail(filename, "the filename must not contain '/', '\\', spaces or control characters")
    if not filename.endswith(".whl") or filename.startswith("."):
        _fail(filename, "the mirror holds wheels only (.whl); lock with wheels only")
    try:
        name, version, _, _ = parse_wheel_filename(filename)
    except (InvalidWheelFilename, InvalidVersion) as exc:
        _fail(filename, f"not a valid wheel filename ({exc})")
    return check_project_name(name), str(version)


def file_sha256(path: Path) -> tuple[str, int]:
    """The hex sha256 and the size of a file, read in chunks."""
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


# --- filename -----------------------------------------------------------------------


def check_filename(filename: str) -> tuple[str, str]:
    """Check an upload's filename; return its normalized project name and version."""
    if not filename or len(filename) > MAX_FILENAME_LENGTH:
        _fail(filename, f"the filename must be 1 to {MAX_FILENAME_LENGTH} characters long")
    if any(c in filename for c in "/\\") or any(ord(c) < 32 or ord(c) == 127 for c in filename):
        _fail(filename, "the filename must not contain '/', '\\' or control characters")
    if not filename.isascii():
        _fail(filename, "the filename must be ASCII (as PyPI requires); rename the project "
                        "with ASCII letters, digits, '-', '_' and '.'")
    if filename.endswith((".tar.gz", ".zip", ".tar.bz2", ".egg")):
        _fail(filename, "the hub serves wheels only; build one with `python -m build --wheel`")
    if not filename.endswith(".whl"):
        _fail(filename, "unknown file type; upload a wheel (.whl)")
    try:
        name, version, _, _ = parse_wheel_filename(filename)
    except (InvalidWheelFilename, InvalidVersion) as exc:
        _fail(filename, f"not a valid wheel filename ({exc}); rebuild it with `python -m build`")
    project = check_project_name(name)
    _check_canonical(filename, project, str(version))
    return project, str(version)


def _check_canonical(filename: str, project: str, version: str) -> None:
    """PyPI's rule: the filename spells the normalized name and the normalized version."""
    spelt_name, spelt_version = filename.split("-")[:2]
    expected = project.replace("-", "_")
    if spelt_name != expected:
        _fail(filename, f"the filename must start with the normalized project name "
                        f"{expected!r}, not {spelt_name!r}; rename it to "
                        f"{expected}-{filename.split('-', 1)[1]} or rebuild it")
    if spelt_version != version:
        _fail(filename, f"the filename must spell the version as {version!r} (PEP 440 "
                        f"normal form), not {spelt_version!r}; rebuild it")


def check_project_name(name: str) -> str:
    """Check a project name against PEP 508 and return it PEP 503 normalized."""
    if not _PROJECT_NAME.match(name):
        raise InvalidDistribution(
            f"project name {name!r} is invalid: use letters, digits, '-', '_' and '.', "
            "starting and ending with a letter or digit"
        )
    return normalize_name(name)


# --- archive ------------------------------------------------------------------------


def _check_archive_kind(filename: str, path: Path) -> None:
    if not zipfile.is_zipfile(path):
        _fail(filename, "not a zip archive; a wheel is a zip file — rebuild it")
    if tarfile.is_tarfile(path):
        _fail(filename, "the file is both a zip and a tar archive (polyglot); rebuild it")


def _check_members(filename: str, archive: zipfile.ZipFile) -> None:
    seen: set[str] = set()
    for info in archive.infolist():
        member = info.filename
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            _fail(filename, f"member {member!r} uses a compression other than STORED or DEFLATED")
        if not member.isascii() and not info.flag_bits & 0x800:
            _fail(filename, f"member name {member!r} is not UTF-8 (set the zip UTF-8 flag)")
        if member in seen:
            _fail(filename, f"member {member!r} appears twice; each name must be unique")
        if member.startswith("/") or ".." in member.split("/"):
            _fail(filename, f"member {member!r} escapes the archive (absolute or '..' path)")
        if "\\" in member:
            _fail(filename, f"member {member!r} contains a backslash; zip paths use '/' "
                            "(installers would write it differently on Windows) — rebuild it")
        seen.add(member)


def _check_ratio(filename: str, path: Path, archive: zipfile.ZipFile) -> None:
    expanded = sum(info.file_size for info in archive.infolist())
    packed = max(path.stat().st_size, 1)
    if expanded > RATIO_CHECK_ABOVE and expanded / packed > MAX_COMPRESSION_RATIO:
        _fail(filename, f"it expands {expanded // packed}x (over {MAX_COMPRESSION_RATIO}x); "
                         "a zip bomb is refused")


def _dist_info_files(
    filename: str, archive: zipfile.ZipFile, name: str, version: str,
    caps: dict[str, tuple[int, str]] = _READ_CAPS,
) -> dict[str, bytes]:
    """The files of the wheel's one ``.dist-info`` directory, by base name."""
    dirs = {m.split("/")[0] for m in archive.namelist() if m.split("/")[0].endswith(".dist-info")}
    wanted = [d for d in dirs if _dist_info_matches(d, name, version)]
    if len(wanted) != 1:
        _fail(filename, f"expected one '{name}-{version}.dist-info' directory, found "
                        f"{sorted(dirs) or 'none'}")
    prefix = wanted[0] + "/"
    files = {m[len(prefix):]: m for m in archive.namelist() if m.startswith(prefix)}
    for required in _REQUIRED_FILES:
        if required not in files:
            _fail(filename, f"{prefix}{required} is missing; a wheel needs METADATA, WHEEL "
                            "and RECORD — rebuild it with `python -m build`")
    return {base: _read_capped(filename, archive, files[base], cap, fix)
            for base, (cap, fix) in caps.items() if base in files}


def _read_capped(
    filename: str, archive: zipfile.ZipFile, member: str, cap: int, fix: str
) -> bytes:
    """A member's bytes, refused before reading when the zip directory says it is over ``cap``."""
    size = archive.getinfo(member).file_size
    if size <= cap:
        with archive.open(member) as f:
            data = f.read(cap + 1)  # the directory's size could lie: never read past the cap
        if len(data) <= cap:
            return data
        size = len(data)
    _fail(filename, f"{member} is {size:,} bytes, over the hub's limit of {cap:,} bytes for "
                    f"that file; {fix}")


def _dist_info_matches(directory: str, name: str, version: str) -> bool:
    dist_name, _, dist_version = directory[: -len(".dist-info")].rpartition("-")
    return normalize_name(dist_name) == name and _same_version(dist_version, version)


def _same_version(a: str, b: str) -> bool:
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return False


# --- metadata -----------------------------------------------------------------------


def _parse_metadata(filename: str, raw: bytes, name: str, version: str,
                    mirrored: bool = False) -> dict[str, Any]:
    try:  # core metadata is UTF-8; BytesParser would garble non-ASCII text into U+FFFD
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        _fail(filename, "METADATA is not valid UTF-8")
    msg = email.parser.Parser(policy=email.policy.compat32).parsestr(text)  # lenient
    meta_name, meta_version = msg.get("Name", ""), msg.get("Version", "")
    if not _PROJECT_NAME.match(meta_name):  # ASCII only: no Kelvin sign, no long s (#11)
        _fail(filename, f"METADATA names the project {meta_name!r}: use ASCII letters, "
                        "digits, '-', '_' and '.', starting and ending with a letter or digit")
    if normalize_name(meta_name) != name:
        _fail(filename, f"the filename names project {name!r} but METADATA says {meta_name!r}")
    if not _same_version(meta_version, version):
        _fail(filename, f"the filename has version {version!r} but METADATA says "
                        f"{meta_version!r}")
    summary = (msg.get("Summary") or "").strip()
    if mirrored:  # upstream's metadata, served as it is: only what the index needs
        return {"summary": summary[:MAX_SUMMARY_LENGTH],
                "requires_python": _requires_python(filename, msg.get("Requires-Python"))}
    if len(summary) > MAX_SUMMARY_LENGTH:
        _fail(filename, f"the Summary is {len(summary)} characters; PyPI and the hub accept at "
                        f"most {MAX_SUMMARY_LENGTH} — shorten it (the README holds the details)")
    return {
        "summary": summary,
        "keywords": _split_keywords(msg.get("Keywords") or ""),
        "requires_dist": _requirements(filename, msg.get_all("Requires-Dist") or []),
        "requires_python": _requires_python(filename, msg.get("Requires-Python")),
        "readme": _readme(msg),
        "readme_content_type": msg.get("Description-Content-Type"),
    }


def _split_keywords(value: str) -> list[str]:
    parts = value.split(",") if "," in value else value.split()
    return [p.strip() for p in parts if p.strip()]


def _requirements(filename: str, lines: list[str]) -> list[str]:
    for line in lines:
        try:
            requirement = Requirement(line)
        except InvalidRequirement as exc:
            _fail(filename, f"Requires-Dist {line!r} is not a valid requirement ({exc})")
        if requirement.url:
            _fail(filename, f"Requires-Dist {line!r} is a direct URL reference, which the hub "
                            "refuses as PyPI does (it bypasses every index and hash check); "
                            f"depend on a released {requirement.name} by name and version")
    return [str(line) for line in lines]


def _requires_python(filename: str, value: str | None) -> str | None:
    if not value:
        return None
    try:
        SpecifierSet(value)
    except InvalidSpecifier:
        _fail(filename, f"Requires-Python {value!r} is not a valid specifier, e.g. '>=3.10'")
    return value.strip()


def _readme(msg: email.message.Message) -> str:
    body = msg.get_payload()
    text = body if isinstance(body, str) and body.strip() else msg.get("Description") or ""
    return str(text).strip()


# --- entry points and operators -----------------------------------------------------


def _parse_entry_points(filename: str, raw: bytes) -> dict[str, dict[str, str]]:
    parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keep the case
    try:
        parser.read_string(raw.decode("utf-8"))
    except (configparser.Error, UnicodeDecodeError) as exc:
        _fail(filename, f"entry_points.txt is invalid ({type(exc).__name__}: {exc})")
    groups = {s: dict(parser.items(s)) for s in parser.sections()}
    if not groups.get(ENTRY_POINT_GROUP):
        _fail(filename, f"it declares no '{ENTRY_POINT_GROUP}' entry point, so it holds no "
                        f"operator; add [project.entry-points.\"{ENTRY_POINT_GROUP}\"] to "
                        "pyproject.toml")
    return groups


def _read_operators(
    filename: str, archive: zipfile.ZipFile, plugins: dict[str, str]
) -> list[dict[str, Any]]:
    operators: list[dict[str, Any]] = []
    for ep_name, value in plugins.items():
        found = _registered_in(filename, archive, value.partition(":")[0].strip())
        if not found:  # not statically readable: the entry point is all we know
            found = [{"name": normalize_name(ep_name), "target": value.strip(), "static": False}]
        operators.extend(dict(op, entry_point=ep_name) for op in found)
    return operators


def _registered_in(filename: str, archive: zipfile.ZipFile, module: str) -> list[dict[str, Any]]:
    """The constant ``register("name", "target", ...)`` calls in a plugin module's source."""
    source = _module_source(filename, archive, module)
    if source is None:
        return []
    too_deep = (f"plugin module {module!r} nests deeper than the hub's limit of "
                f"{MAX_PLUGIN_DEPTH} levels; keep the plugin a few plain register() calls")
    try:
        tree = ast.parse(source, filename=module)
    except (SyntaxError, ValueError) as exc:
        _fail(filename, f"plugin module {module!r} does not parse ({exc}); fix its syntax")
    except (RecursionError, MemoryError):  # CPython's parser gives up on deep expressions
        _fail(filename, too_deep)
    if _depth(tree) > MAX_PLUGIN_DEPTH:
        _fail(filename, too_deep)
    return [op for node in ast.walk(tree) if (op := _registration(filename, node)) is not None]


def _module_source(filename: str, archive: zipfile.ZipFile, module: str) -> bytes | None:
    base = module.replace(".", "/")
    for candidate in (f"{base}.py", f"{base}/__init__.py"):
        if candidate in archive.namelist():
            return _read_capped(filename, archive, candidate, MAX_PLUGIN_SOURCE_BYTES,
                               _PLUGIN_FIX)
    return None


def _depth(tree: ast.AST) -> int:
    """The deepest nesting of a syntax tree, without recursion (the tree may be hostile)."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth <= MAX_PLUGIN_DEPTH:  # past the limit the answer is known
            stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


def _registration(filename: str, node: ast.AST) -> dict[str, Any] | None:
    """A constant ``register(...)`` call, checked as the registry checks it at runtime."""
    if not (isinstance(node, ast.Call) and _called_name(node.func) == "register"):
        return None
    args = [_constant(a) for a in node.args[:2]]
    if len(args) < 2 or not all(isinstance(a, str) for a in args):
        return None
    metadata = {kw.arg: value for kw in node.keywords
                if kw.arg is not None and (value := _constant(kw.value)) is not _UNREADABLE}
    try:  # a keyword computed at runtime is unknown here: it shows its default
        name, checked = check_registration(args[0], args[1], metadata)
    except InvalidOperator as exc:
        _fail(filename, str(exc))
    return {"name": name, "target": args[1], **to_json(checked)}


def _called_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else None


_UNREADABLE = object()


def _constant(node: ast.expr) -> Any:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _UNREADABLE


def _fail(filename: str, reason: str) -> NoReturn:
    raise InvalidDistribution(f"{filename}: {reason}")
