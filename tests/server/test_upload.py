"""The legacy upload API: auth, immutability, and every rejection leaves the store unchanged."""

from __future__ import annotations

import base64
import hashlib
import random
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from support.app import InProcessHub, store_state, upload
from support.crafted import wheel_files, write_wheel


def test_upload_identical_reupload_and_conflict(hub_app: InProcessHub, make_wheel) -> None:
    wheel = make_wheel()
    first = hub_app.upload(wheel)
    assert (first.status_code, first.text) == (200, f"stored {wheel.name}\n")
    again = hub_app.upload(wheel)
    assert again.status_code == 200 and "identical content" in again.text
    state = store_state(hub_app.storage)
    make_wheel(Summary="other bytes")  # same filename, different content
    conflict = hub_app.upload(wheel)
    assert conflict.status_code == 409 and conflict.text.startswith("File already exists")
    assert store_state(hub_app.storage) == state


def test_upload_at_root_url_too(hub_app: InProcessHub, make_wheel) -> None:
    wheel = make_wheel()
    data = {":action": "file_upload", "protocol_version": "1",
            "sha256_digest": hashlib.sha256(wheel.read_bytes()).hexdigest()}
    response = hub_app.session.post(hub_app.url + "/", data=data, timeout=30,
                                    auth=("__token__", hub_app.token),
                                    files={"content": (wheel.name, wheel.read_bytes())})
    assert response.status_code == 200, response.text


def _no_auth(server: InProcessHub, wheel: Path) -> requests.Response:
    return upload(server.url, None, wheel, session=server.session)


def _basic(user: str, password: str) -> Callable[[InProcessHub, Path], requests.Response]:
    def send(server: InProcessHub, wheel: Path) -> requests.Response:
        header = base64.b64encode(f"{user}:{password}".encode()).decode()
        return server.session.post(server.url + "/legacy/", timeout=30,
                                   headers={"Authorization": "Basic " + header},
                                   files={"content": (wheel.name, wheel.read_bytes())})
    return send


def _fields(**fields: object) -> Callable[[InProcessHub, Path], requests.Response]:
    return lambda server, wheel: server.upload(wheel, **fields)


def _not_multipart(server: InProcessHub, wheel: Path) -> requests.Response:
    return server.session.post(server.url + "/legacy/", data=wheel.read_bytes(), timeout=30,
                               auth=("__token__", server.token))


def _crafted(edit: dict[str, bytes], filename: str | None = None):  # type: ignore[no-untyped-def]
    def send(server: InProcessHub, wheel: Path) -> requests.Response:
        folder = wheel.parent / "crafted"
        folder.mkdir(exist_ok=True)
        return server.upload(write_wheel(folder, wheel_files() | edit), filename=filename)
    return send


BAD_UPLOADS = {
    "no auth": (_no_auth, 401, "authentication required"),
    "wrong token": (_basic("__token__", "ohub_nope"), 403, "invalid credentials"),
    "wrong user": (_basic("alice", "x"), 403, "invalid credentials"),
    "not multipart": (_not_multipart, 400, "must be multipart/form-data"),
    "wrong action": (_fields(**{":action": "remove_file"}), 400, "unsupported :action"),
    "no digest": (_fields(sha256_digest=None), 400, "sha256_digest is missing"),
    "bad digest": (_fields(sha256_digest="0" * 64), 400, "does not match the received file"),
    "sdist filetype": (_fields(filetype="sdist"), 400, "wheels only"),
    "sdist filename": (_fields(filename="opshub_demo-1.0.tar.gz"), 400, "wheels only"),
    "path in filename": (_fields(filename="..\\opshub_demo-1.0-py3-none-any.whl"), 400,
                         "must not contain"),
    "unknown extension": (_fields(filename="opshub_demo-1.0.exe"), 400, "unknown file type"),
    "form name mismatch": (_fields(name="other"), 400, "form field name='other'"),
    "form version mismatch": (_fields(version="2.0"), 400, "form field version='2.0'"),
    "filename vs METADATA": (_fields(filename="opshub_demo-2.0-py3-none-any.whl"), 400,
                             "expected one 'opshub-demo-2.0.dist-info' directory"),
    "no operator": (_crafted({"opshub_demo-1.0.dist-info/entry_points.txt": b""}), 400,
                    "declares no 'opshub.operators' entry point"),
}


@pytest.mark.parametrize("case", list(BAD_UPLOADS))
def test_bad_upload_is_a_4xx_with_one_line_and_changes_nothing(
    hub_app: InProcessHub, make_wheel, case: str
) -> None:
    send, status, message = BAD_UPLOADS[case]
    hub_app.upload(make_wheel("opshub-kept"))
    before = store_state(hub_app.storage)
    response = send(hub_app, make_wheel())
    assert response.status_code == status, response.text
    assert message in response.text and response.text.count("\n") == 1
    assert store_state(hub_app.storage) == before
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_size_limit_is_enforced_while_streaming(tmp_path: Path, make_wheel) -> None:
    noise = random.Random(0).randbytes(600_000)  # incompressible
    big = write_wheel(tmp_path, wheel_files() | {"opshub_demo/blob.bin": noise})
    with InProcessHub(tmp_path / "storage", max_upload_bytes=500_000) as server:
        declared = server.upload(big)
        assert declared.status_code == 413 and "at most 500000 bytes" in declared.text

        def body():  # chunked: no Content-Length, so only the streaming check can catch it
            yield from _multipart_chunks(big)

        streamed = server.session.post(
            server.url + "/legacy/", data=body(), timeout=30, auth=("__token__", server.token),
            headers={"Content-Type": "multipart/form-data; boundary=XX"})
        assert streamed.status_code == 413 and "at most 500000 bytes" in streamed.text
        assert store_state(server.storage) == ([], b"")


def _multipart_chunks(path: Path):  # type: ignore[no-untyped-def]
    yield (b'--XX\r\nContent-Disposition: form-data; name=":action"\r\n\r\nfile_upload\r\n'
           b'--XX\r\nContent-Disposition: form-data; name="content"; filename="'
           + path.name.encode() + b'"\r\n\r\n')
    data = path.read_bytes()
    for start in range(0, len(data), 65536):
        yield data[start:start + 65536]
    yield b"\r\n--XX--\r\n"
