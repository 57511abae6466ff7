"""The hub app in the test process: raw uploads, the store's state, and two ways to serve it.

:class:`InProcessHub` (no socket: Starlette's TestClient, with a requests session for
requests-based code) is for the API-level tests, which run in the fast core.
:class:`AppServer` (uvicorn in a thread, a real loopback socket) is for tests whose client
is another process (pip, uv) and that carry the ``server`` marker.
"""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path
from typing import Any, Self

import requests
import uvicorn

from hub._dist import WheelInfo, inspect_wheel
from hub.server import Storage, create_app, create_token

from .markers import require
from .transport import BASE_URL, in_process_session


def upload(url: str, token: str | None, path: Path, filename: str | None = None,
           session: requests.Session | None = None, **fields: Any) -> requests.Response:
    """A raw legacy-API upload, as twine sends it; ``fields`` override or drop (None) fields."""
    data = path.read_bytes()
    form = {":action": "file_upload", "protocol_version": "1", "filetype": "bdist_wheel",
            "sha256_digest": hashlib.sha256(data).hexdigest(), "pyversion": "py3",
            "metadata_version": "2.1"}
    form.update(fields)
    form = {k: v for k, v in form.items() if v is not None}
    auth = ("__token__", token) if token else None
    return (session or requests.Session()).post(
        url.rstrip("/") + "/legacy/", data=form, auth=auth, timeout=60,
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
        require("server", "serves the hub on a socket (uvicorn in a thread)")
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
    """``create_app`` behind Starlette's TestClient (``client``), with an upload token, and
    ``session``: a requests session whose requests to ``url`` reach the app in-process."""

    url = BASE_URL

    def __init__(self, storage: Path, **options: Any) -> None:
        from starlette.testclient import TestClient

        self.storage = storage
        self.app = create_app(storage, **options)
        self.store: Storage = self.app.state.storage
        self.token = create_token(self.store)
        self.client = TestClient(self.app, raise_server_exceptions=False)
        self.session = in_process_session(self.client)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.session.close()
        self.client.close()

    def upload(self, path: Path, filename: str | None = None, token: str | None = None,
               **fields: str) -> requests.Response:
        """A legacy-API upload as twine sends it (the response)."""
        return upload(self.url, token or self.token, path, filename, self.session, **fields)
