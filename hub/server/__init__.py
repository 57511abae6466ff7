"""The hub server: a PEP 503/691 simple index with upload, a JSON API and web pages.

>>> from hub.server import create_app
>>> app = create_app(Path("/tmp/hub-storage"))   # doctest: +SKIP

Run it with `hub serve`; pip, uv and twine talk to it as to any package index.
"""

from __future__ import annotations

from ._app import DEFAULT_MAX_UPLOAD_BYTES, create_app
from ._errors import FileExistsConflict, RequestRejected
from ._recovery import CheckReport, RecoveryReport, check, recover
from ._storage import FileRecord, Storage, TokenRecord
from ._storage_lock import storage_lock
from ._tokens import (
    LOCAL_TOKEN_FILE,
    Revoked,
    check_token,
    create_token,
    find_token,
    revoke_token,
    write_local_token,
)

__all__ = [
    "DEFAULT_MAX_UPLOAD_BYTES",
    "LOCAL_TOKEN_FILE",
    "CheckReport",
    "FileExistsConflict",
    "FileRecord",
    "RecoveryReport",
    "RequestRejected",
    "Revoked",
    "Storage",
    "TokenRecord",
    "check",
    "check_token",
    "create_app",
    "create_token",
    "find_token",
    "recover",
    "revoke_token",
    "storage_lock",
    "write_local_token",
]
