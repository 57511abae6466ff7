"""Errors of the hub server; each carries the HTTP status it answers with.

    HubError
    └── RequestRejected        a 4xx answer with a one-line reason
        └── FileExistsConflict a filename already holds different bytes (409)
"""

from __future__ import annotations

from .._exceptions import HubError


class RequestRejected(HubError):
    """Raised when a request breaks a rule; the server answers ``status`` and the message."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)


class FileExistsConflict(RequestRejected):
    """Raised when an upload reuses a filename with different bytes (versions are immutable)."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        super().__init__(
            409,
            f"File already exists: {filename} was published with different content; "
            "published files are immutable — bump the version and upload again",
        )
