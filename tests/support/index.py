"""A small package index on a loopback port, serving wheels the test builds itself.

PEP 691 JSON (with PEP 700 ``upload-time``, which the test sets) or PEP 503 HTML, as
the client asks; sha256 on every file. Stands in for "another index" (PyPI, a mirror,
an attacker's index) so resolvers and installers are tested offline.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

from .net import free_port


def build_wheel(folder: Path, name: str, version: str, requires: Sequence[str] = (),
                modules: Mapping[str, str] | None = None, tag: str = "py3-none-any") -> Path:
    """A valid wheel of ``name`` ``version`` with ``Requires-Dist`` lines and modules."""
    dist = re.sub(r"[-_.]+", "_", name).lower()
    info = f"{dist}-{version}.dist-info"
    files = dict(modules or {f"{dist}/__init__.py": f"VERSION = {version!r}\n"})
    metadata = "".join([f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
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


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


@dataclass
class Index:
    """The files of a local index: project -> [(wheel path, upload time)]."""

    root: Path
    files: dict[str, list[tuple[Path, datetime]]] = field(default_factory=dict)
    url: str = ""

    def add(self, wheel: Path, uploaded: datetime | None = None) -> Path:
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
        files = [{"filename": p.name, "url": f"{self.url}/files/{p.name}",
                  "hashes": {"sha256": hashlib.sha256(p.read_bytes()).hexdigest()},
                  "size": p.stat().st_size,
                  "upload-time": t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")} for p, t in entries]
        if as_json:
            body = {"meta": {"api-version": "1.1"}, "name": project, "files": files}
            return "application/vnd.pypi.simple.v1+json", json.dumps(body).encode()
        links = "".join(f'<a href="{f["url"]}#sha256={f["hashes"]["sha256"]}">'  # type: ignore[index]
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
                file = index.root / "files" / path[len("/files/"):]
                found = ("application/octet-stream", file.read_bytes()) if file.is_file() \
                    else None
            else:
                found = None
            if found is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", found[0])
            self.send_header("Content-Length", str(len(found[1])))
            self.end_headers()
            if body:
                self.wfile.write(found[1])

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@contextmanager
def serve_index(root: Path) -> Iterator[Index]:
    """An :class:`Index` served on a free loopback port while the block runs."""
    port = free_port()
    index = Index(root, url=f"http://127.0.0.1:{port}")
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(index))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield index
    finally:
        server.shutdown()
        server.server_close()

