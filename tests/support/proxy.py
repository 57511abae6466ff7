"""An HTTP proxy in front of a server that records every path asked through it: a test's
access log of the hub (which logs no requests), e.g. given to Ray nodes as HUB_WORKER_URL
to see what they fetched from the hub."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

import requests

from .net import serving

_HOP = {"connection", "keep-alive", "transfer-encoding", "content-encoding", "content-length"}


@dataclass
class Recording:
    """The proxy's URL and the requests it forwarded, in order: ``GET /path`` (or HEAD)."""

    url: str
    requests: list[str] = field(default_factory=list)


@contextmanager
def recording_proxy(upstream: str) -> Iterator[Recording]:
    """Forward GET and HEAD requests to ``upstream`` while the block runs, recording each
    path."""
    recording = Recording("")
    with serving(_handler(upstream, recording)) as url:
        recording.url = url
        yield recording


def _handler(upstream: str, recording: Recording) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._forward("GET")

        def do_HEAD(self) -> None:  # uv asks before fetching a URL requirement
            self._forward("HEAD")

        def _forward(self, method: str) -> None:
            recording.requests.append(f"{method} {self.path}")
            headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
            answer = requests.request(method, upstream + self.path, headers=headers,
                                      timeout=60)
            body = answer.content
            self.send_response(answer.status_code)
            for key, value in answer.headers.items():
                if key.lower() not in _HOP:
                    self.send_header(key, value)
            self.send_header("Content-Length", answer.headers.get("Content-Length", "0")
                             if method == "HEAD" else str(len(body)))
            self.end_headers()
            if method == "GET":
                self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    return Handler
