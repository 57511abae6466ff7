"""Concurrent uploads all land once; a server killed mid-upload restarts with nothing half-written."""

from __future__ import annotations

import hashlib
import random
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from support.app import upload
from support.crafted import wheel_files, write_wheel
from support.hub_server import start_hub_server

from hub.server import Storage

pytestmark = [pytest.mark.server, pytest.mark.slow]
JSON_V1 = "application/vnd.pypi.simple.v1+json"


def _listing(server: Any, project: str) -> list[dict]:
    response = requests.get(f"{server.index_url}{project}/", headers={"Accept": JSON_V1},
                            timeout=10)
    return response.json()["files"] if response.ok else []


def _check_served(server: Any, project: str) -> dict[str, str]:
    """Every listed file downloads with its listed hash; returns filename -> sha256."""
    files = _listing(server, project)
    for file in files:
        content = requests.get(f"{server.index_url}{project}/{file['url']}", timeout=10).content
        assert hashlib.sha256(content).hexdigest() == file["hashes"]["sha256"], file["filename"]
    return {f["filename"]: f["hashes"]["sha256"] for f in files}


def test_twenty_concurrent_uploads_all_land_once(hub_server: Any, tmp_path: Path) -> None:
    wheels = [write_wheel(tmp_path, wheel_files("opshub-many", f"1.{i}")) for i in range(20)]
    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda w: upload(hub_server.url, hub_server.token, w), wheels))
    assert [a.status_code for a in answers] == [200] * 20, [a.text for a in answers]
    served = _check_served(hub_server, "opshub-many")
    assert sorted(served) == sorted(w.name for w in wheels)  # each exactly once
    assert served == {w.name: hashlib.sha256(w.read_bytes()).hexdigest() for w in wheels}
    versions = requests.get(hub_server.url + "/api/projects/opshub-many", timeout=10).json()
    assert len(versions["versions"]) == 20


def _slow_body(data: bytes, boundary: str, halfway: threading.Event,
               killed: threading.Event) -> Iterator[bytes]:
    yield (f'--{boundary}\r\nContent-Disposition: form-data; name=":action"\r\n\r\nfile_upload'
           f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="content"; '
           f'filename="opshub_demo-9.0-py3-none-any.whl"\r\n\r\n').encode()
    yield data[: len(data) // 2]
    halfway.set()
    killed.wait(30)
    yield data[len(data) // 2:]


def _upload_until_killed(server: Any, data: bytes, halfway: threading.Event,
                         killed: threading.Event) -> None:
    try:
        body = _slow_body(data, "BB", halfway, killed)
        requests.post(server.url + "/legacy/", data=body, timeout=60,
                      auth=("__token__", server.token),
                      headers={"Content-Type": "multipart/form-data; boundary=BB"})
    except requests.RequestException:
        pass  # expected: the server was killed


def test_sigkill_during_uploads_then_restart(tmp_path: Path, wheels: dict[str, Path]) -> None:
    storage = tmp_path / "storage"
    server = start_hub_server(storage)
    try:
        published = [wheels[name] for name in ("basic", "broken", "heavy")]
        for wheel in published:
            assert upload(server.url, server.token, wheel).ok
        before = {w.name: hashlib.sha256(w.read_bytes()).hexdigest() for w in published}
        noise = random.Random(1).randbytes(4_000_000)
        big = [write_wheel(tmp_path, wheel_files("opshub-big", f"1.{i}")
                           | {"opshub_big/blob.bin": noise + bytes([i])}) for i in range(4)]
        halfway, killed = threading.Event(), threading.Event()
        stuck = threading.Thread(target=_upload_until_killed,
                                 args=(server, big[0].read_bytes(), halfway, killed))
        stuck.start()
        assert halfway.wait(30)
        with ThreadPoolExecutor(3) as pool:  # more uploads in flight at the kill
            futures = [pool.submit(upload, server.url, server.token, w) for w in big[1:]]
            threading.Event().wait(random.Random().uniform(0.0, 0.3))
            server.process.kill()  # SIGKILL: no cleanup at all
            server.process.wait()
            killed.set()
            for future in futures:
                try:
                    future.result()
                except requests.RequestException:
                    pass
        stuck.join(60)
    finally:
        server.stop()

    restarted = start_hub_server(storage, token=server.token)
    try:
        served = {}
        for project in ("opshub-test-basic", "opshub-test-broken", "opshub-test-heavy",
                        "opshub-big"):
            served |= _check_served(restarted, project)
        assert {k: served[k] for k in before} == before
        assert "opshub_demo-9.0-py3-none-any.whl" not in served
        assert not list((storage / "incoming").iterdir())
        on_disk = {p.name for p in (storage / "files").glob("*/*")}
        assert on_disk == {r.filename for r in Storage(storage).files()} == set(served)
        again = upload(restarted.url, restarted.token, big[0])  # the killed one, now complete
        assert again.status_code == 200 and big[0].name in _check_served(restarted, "opshub-big")
    finally:
        restarted.stop()
