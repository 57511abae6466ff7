"""A small package index on a loopback port, serving wheels the test builds itself.

PEP 691 JSON (with PEP 700 ``upload-time``, which the test sets) or PEP 503 HTML, as
the client asks; sha256 on every file, PEP 658 metadata (so resolvers never download a
wheel to read it, as with PyPI), HTTP Range requests. Stands in for "another index"
(PyPI, a mirror, an attacker's index) so resolvers and installers are tested offline.
Every request is logged (``Index.log``) with the bytes sent, and a download can be
made to stall half-way (``Index.stall``) so a test can kill its client there.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import shutil
import threading
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.parser import Parser
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import quote, unquote

from .net import free_port, serving


def build_wheel(folder: Path, name: str, version: str, requires: Sequence[str] = (),
                modules: Mapping[str, str] | None = None, tag: str = "py3-none-any",
                python: str | None = None) -> Path:
    """A valid wheel of ``name`` ``version`` with ``Requires-Dist`` lines, modules and
    ``Requires-Python: python``."""
    dist = re.sub(r"[-_.]+", "_", name).lower()
    info = f"{dist}-{version}.dist-info"
    files = dict(modules or {f"{dist}/__init__.py": f"VERSION = {version!r}\n"})
    metadata = "".join([f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
                        *([f"Requires-Python: {python}\n"] if python else []),
                        *(f"Requires-Dist: {r}\n" for r in requires)])
    files[f"{info}/METADATA"] = metadata
    files[f"{info}/WHEEL"] = f"Wheel-Version: 1.0\nGenerator: opshub-tests\nRoot-Is-Purelib: " \
                             f"true\nTag: {tag}\n"
    record = [f"{path},sha256={_b64(text.encode())},{len(text.encode())}"
              for path, text in files.items()]
    files[f"{info}/RECORD"] = "\n".join([*record, f"{info}/RECORD,,"]) + "\n"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{dist}-{version}-{tag}.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for member, text in files.items():
            archive.writestr(member, text)
    return path


def operator_wheel(folder: Path, name: str, version: str, requires: Sequence[str] = ()
                   ) -> Path:
    """A valid operator wheel (an ``opshub.operators`` entry point whose plugin registers
    the function operator ``name``) requiring ``requires``."""
    dist = re.sub(r"[-_.]+", "_", name).lower()
    plugin = ("import hub\n\n@hub.hookimpl\ndef register_operators(register):\n"
              f"    register({name!r}, '{dist}.impl:run', description='test')\n")
    modules = {f"{dist}/__init__.py": "", f"{dist}/plugin.py": plugin,
               f"{dist}/impl.py": "def run(item):\n    return item\n",
               f"{dist}-{version}.dist-info/entry_points.txt":
                   f"[opshub.operators]\n{name} = {dist}.plugin\n"}
    return build_wheel(folder, name, version, requires, modules=modules)


# A few real project names at fixed versions, with the Requires-Python toolz 1.0.0 has on
# PyPI: what resolver tests lock from instead of PyPI, whose newest versions change.
PYPI_LIKE = {"six": [("1.16.0", None), ("1.17.0", None)],
             "toolz": [("0.12.1", None), ("1.0.0", ">=3.8")],
             "tabulate": [("0.9.0", None), ("0.10.0", None)]}


def pypi_like(index: Index) -> Index:
    """``index`` serving :data:`PYPI_LIKE` (pure-Python wheels, no dependencies)."""
    for name, releases in PYPI_LIKE.items():
        for version, python in releases:
            index.wheel(name, version, python=python)
    return index


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


@dataclass
class Stall:
    """Send ``after`` bytes of ``filename``, then wait until ``release`` is set."""

    filename: str
    after: int
    reached: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class Request:
    """One request the index answered: path, Range header, bytes of body sent."""

    path: str
    range: str | None
    sent: int


@dataclass
class Index:
    """The files of a local index: project -> [(wheel path, upload time)]."""

    root: Path
    files: dict[str, list[tuple[Path, datetime]]] = field(default_factory=dict)
    url: str = ""
    log: list[Request] = field(default_factory=list)
    stall: Stall | None = None

    def fetched(self, filename: str) -> list[Request]:
        """The requests for a file's bytes (not its .metadata)."""
        return [r for r in self.log if r.path == f"/files/{filename}"]

    def add(self, wheel: Path, uploaded: datetime | None = None) -> Path:
        """Serve ``wheel`` (copied into the index's folder if it lies elsewhere)."""
        if wheel.parent != self.root / "files":
            (self.root / "files").mkdir(parents=True, exist_ok=True)
            wheel = Path(shutil.copy2(wheel, self.root / "files" / wheel.name))
        project = re.sub(r"[-_.]+", "-", wheel.name.split("-")[0]).lower()
        self.files.setdefault(project, []).append(
            (wheel, uploaded or datetime.now(timezone.utc)))
        return wheel

    def wheel(self, name: str, version: str, requires: Sequence[str] = (),
              uploaded: datetime | None = None, **kw: object) -> Path:
        """Build a wheel into this index's folder and serve it."""
        return self.add(build_wheel(self.root / "files", name, version, requires, **kw),  # type: ignore[arg-type]
                        uploaded)

    @property
    def simple(self) -> str:
        return self.url + "/simple/"

    def page(self, project: str, as_json: bool) -> tuple[str, bytes] | None:
        entries = self.files.get(project)
        if entries is None:
            return None
        files = [{"filename": p.name, "url": f"{self.url}/files/{quote(p.name)}",
                  "hashes": {"sha256": hashlib.sha256(p.read_bytes()).hexdigest()},
                  "size": p.stat().st_size,
                  "core-metadata": {"sha256": hashlib.sha256(metadata_of(p)).hexdigest()},
                  "requires-python": _requires_python(p),
                  "upload-time": t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")} for p, t in entries]
        if as_json:
            body = {"meta": {"api-version": "1.1"}, "name": project, "files": files}
            return "application/vnd.pypi.simple.v1+json", json.dumps(body).encode()
        links = "".join(f'<a href="{f["url"]}#sha256={f["hashes"]["sha256"]}" '  # type: ignore[index]
                        f'data-core-metadata="sha256={f["core-metadata"]["sha256"]}"'  # type: ignore[index]
                        f'{_attribute("data-requires-python", f["requires-python"])}>'
                        f'{f["filename"]}</a>\n' for f in files)
        return "text/html", f"<html><body>{links}</body></html>".encode()


def _handler(index: Index) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_HEAD(self) -> None:
            self.do_GET(body=False)

        def do_GET(self, body: bool = True) -> None:
            path = unquote(self.path.split("?")[0])
            as_json = "json" in self.headers.get("Accept", "")
            if path.startswith("/simple/"):
                found = index.page(path[len("/simple/"):].strip("/"), as_json)
            elif path.startswith("/files/"):
                found = _file(index, path[len("/files/"):])
            else:
                found = None
            if found is None:
                self.send_error(404)
                index.log.append(Request(path, self.headers.get("Range"), 0))
                return
            data, start = found[1], _range_start(self.headers.get("Range"))
            self.send_response(206 if start else 200)
            self.send_header("Content-Type", found[0])
            self.send_header("Content-Length", str(len(data) - start))
            if start:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.end_headers()
            sent = self._send(path, data[start:]) if body else 0
            index.log.append(Request(path, self.headers.get("Range"), sent))

        def _send(self, path: str, data: bytes) -> int:
            stall = index.stall
            if stall is None or path != f"/files/{stall.filename}":
                self.wfile.write(data)
                return len(data)
            self.wfile.write(data[:stall.after])
            self.wfile.flush()
            stall.reached.set()
            stall.release.wait(60)  # the test kills the client meanwhile
            self.close_connection = True
            return stall.after

        def log_message(self, *args: object) -> None:
            pass

    return Handler


def metadata_of(wheel: Path) -> bytes:
    """The METADATA file of a wheel (served as PEP 658 core metadata)."""
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return archive.read(name)


def _requires_python(wheel: Path) -> str | None:
    """The wheel's ``Requires-Python`` (served as PEP 503's data-requires-python)."""
    return Parser().parsestr(metadata_of(wheel).decode()).get("Requires-Python")


def _attribute(name: str, value: object) -> str:
    return f' {name}="{html.escape(str(value))}"' if value else ""


def _file(index: Index, name: str) -> tuple[str, bytes] | None:
    file = index.root / "files" / name.removesuffix(".metadata")
    if not file.is_file():
        return None
    data = metadata_of(file) if name.endswith(".metadata") else file.read_bytes()
    return "application/octet-stream", data


def _range_start(header: str | None) -> int:
    match = re.fullmatch(r"bytes=(\d+)-", header or "")
    return int(match.group(1)) if match else 0


@contextmanager
def serve_index(root: Path) -> Iterator[Index]:
    """An :class:`Index` served on a free loopback port while the block runs."""
    port = free_port()
    index = Index(root, url=f"http://127.0.0.1:{port}")
    with serving(_handler(index), port):
        yield index
