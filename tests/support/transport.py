"""A requests transport that hands each request to an ASGI app in this process.

Mounted on a ``requests.Session``, it lets requests-based code (``HubClient``, raw
uploads as twine sends them) talk to the hub app through Starlette's TestClient: the
same app, headers and bodies (streamed ones included), no socket and no thread, as
httpx's ``MockTransport`` does for httpx. Tests that need a real socket (pip, uv, twine,
a restart) use a real server and carry the ``server`` marker.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from starlette.testclient import TestClient

BASE_URL = "http://testserver"  # TestClient's own host: URLs the app builds point here
_LENGTH = frozenset({"content-length", "transfer-encoding"})  # the TestClient sets its own


class InProcessAdapter(BaseAdapter):
    """Send each request to ``client``'s app; answer with a plain ``requests.Response``."""

    def __init__(self, client: TestClient) -> None:
        super().__init__()
        self.client = client

    def send(self, request: requests.PreparedRequest, stream: bool = False,
             timeout: object = None, verify: object = True, cert: object = None,
             proxies: Mapping[str, str] | None = None) -> requests.Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _LENGTH}
        answer = self.client.request(str(request.method), str(request.url), headers=headers,
                                     content=_content(request.body), follow_redirects=False)
        response = requests.Response()
        response.status_code = answer.status_code
        response.headers = CaseInsensitiveDict(answer.headers)
        response.raw = io.BytesIO(answer.content)  # read lazily, as iter_content expects
        response.url, response.request = str(request.url), request
        response.encoding = requests.utils.get_encoding_from_headers(response.headers)
        response.reason = answer.reason_phrase
        return response

    def close(self) -> None:
        pass


def _content(body: Any) -> bytes | Iterator[bytes] | None:
    """A request body as the TestClient takes it: bytes, or chunks (sent without a length)."""
    if body is None or isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    if hasattr(body, "read"):  # a file, or requests-toolbelt's streamed multipart
        return body.read()
    return (chunk for chunk in _chunks(body))


def _chunks(body: Iterable[bytes | str]) -> Iterator[bytes]:
    for chunk in body:
        yield chunk.encode() if isinstance(chunk, str) else chunk


def in_process_session(client: TestClient) -> requests.Session:
    """A session whose requests to :data:`BASE_URL` go to ``client``'s app."""
    session = requests.Session()
    session.mount(BASE_URL, InProcessAdapter(client))
    return session
