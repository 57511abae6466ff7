"""Server test helpers: crafted wheels, raw uploads, the store's state, an in-process hub."""

from __future__ import annotations

import hashlib
import threading
import time
import zipfile
from pathlib import Path
from typing import Any, Self

import requests
import uvicorn

from hub._dist import WheelInfo, inspect_wheel
from hub.server import Storage, create_app, create_token

PLUGIN = b"""import hub


@hub.hookimpl
def register_operators(register):
    register("%(op)s", "%(module)s.impl:run", description="Crafted for tests.", num_cpus=0.5)
"""


def wheel_files(name: str = "opshub-demo", version: str = "1.0", **metadata: str) -> dict[str, bytes]:
    """The members of a small valid operator wheel (edit the dict to break it)."""
    module = name.replace("-", "_").lower()
    dist_info = f"{module}-{version}.dist-info"
    headers = {"Metadata-Version": "2.1", "Name": name, "Version": version,
               "Summary": "A crafted operator.", **metadata}
    meta = "".join(f"{k}: {v}\n" for k, v in headers.items()) + "\nThe README card.\n"
    return {
        f"{module}/__init__.py": b"",
        f"{module}/plugin.py": PLUGIN % {b"op": name.encode(), b"module": module.encode()},
        f"{module}/impl.py": b"def run(x):\n    return x\n",
        f"{dist_info}/METADATA": meta.encode(),
        f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\n"
                              b"Tag: py3-none-any\n",
        f"{dist_info}/entry_points.txt": f"[opshub.operators]\n{name} = {module}.plugin\n".encode(),
        f"{dist_info}/RECORD": b"",
    }


def write_wheel(
    folder: Path, files: dict[str, bytes], filename: str | None = None,
    compression: int = zipfile.ZIP_DEFLATED,
) -> Path:
    """Zip ``files`` into ``folder/filename`` (default: derived from the dist-info folder)."""
    if filename is None:
        dist_info = next(m.split("/")[0] for m in files if ".dist-info/" in m)
        filename = dist_info.removesuffix(".dist-info") + "-py3-none-any.whl"
    path = folder / filename
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for member, data in files.items():
            archive.writestr(member, data)
    return path


def upload(url: str, token: str | None, path: Path, filename: str | None = None,
           **fields: Any) -> requests.Response:
    """A raw legacy-API upload, as twine sends it; ``fields`` override or drop (None) fields."""
    data = path.read_bytes()
    form = {":action": "file_upload", "protocol_version": "1", "filetype": "bdist_wheel",
            "sha256_digest": hashlib.sha256(data).hexdigest(), "pyversion": "py3",
            "metadata_version": "2.1"}
    form.update(fields)
    form = {k: v for k, v in form.items() if v is not None}
    auth = ("__token__", token) if token else None
    return requests.post(url.rstrip("/") + "/legacy/", data=form, auth=auth, timeout=60,
                         files={"content": (filename or path.name, data)})


def publish(store: Storage, wheel: Path) -> WheelInfo:
    """Commit ``wheel`` to ``store`` as an upload does (inspect, stage a temp copy, add)."""
    info = inspect_wheel(wheel)
    temp = store.temp_path()
    temp.write_bytes(wheel.read_bytes())
    store.add(info, temp)
    return info


def store_state(storage: Path) -> tuple[list[str], bytes]:
    """What a rejected upload must leave unchanged: the files on disk and the rows."""
    files = sorted(str(p.relative_to(storage)) for p in (storage / "files").rglob("*"))
    rows = [r.filename + r.sha256 for r in Storage(storage).files()]
    return files, "\n".join(rows).encode()


class AppServer:
    """``create_app`` served by uvicorn in a thread of the test process."""

    def __init__(self, storage: Path, **options: Any) -> None:
        self.storage = storage
        self.app = create_app(storage, **options)
        self.token = create_token(self.app.state.storage)
        config = uvicorn.Config(self.app, host="127.0.0.1", port=0, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = ""

    def __enter__(self) -> Self:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline, "the in-process hub did not start in 30 s"
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


class InProcessHub:
    """``create_app`` behind Starlette's TestClient, with an upload token and raw uploads."""

    def __init__(self, storage: Path, **options: Any) -> None:
        from starlette.testclient import TestClient

        self.storage = storage
        self.app = create_app(storage, **options)
        self.store: Storage = self.app.state.storage
        self.token = create_token(self.store)
        self.client = TestClient(self.app, raise_server_exceptions=False)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()

    def upload(self, path: Path, filename: str | None = None, token: str | None = None,
               **fields: str) -> Any:
        """A legacy-API upload as twine sends it (the response)."""
        data = path.read_bytes()
        form = {":action": "file_upload", "protocol_version": "1",
                "sha256_digest": hashlib.sha256(data).hexdigest(), **fields}
        return self.client.post("/legacy/", data=form, auth=("__token__", token or self.token),
                                files={"content": (filename or path.name, data)})
