"""Upload tokens: random secrets with a recognizable prefix, stored only as hashes."""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

from ._storage import Storage, token_hash

TOKEN_PREFIX = "ohub_"
LOCAL_TOKEN_FILE = "local-token"


def create_token(storage: Storage) -> str:
    """A new token, whose hash is stored; the plaintext is returned once."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    storage.add_token(token)
    return token


def check_token(storage: Storage, token: str) -> bool:
    """Whether ``token`` is one of the storage's tokens (constant-time comparison)."""
    digest = token_hash(token)
    matches = [hmac.compare_digest(digest, known) for known in storage.token_hashes()]
    return any(matches)


def write_local_token(storage: Storage, token: str) -> Path:
    """Write the token for same-machine clients, readable by its owner only (0600)."""
    path = storage.root / LOCAL_TOKEN_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(token + "\n")
    os.chmod(path, 0o600)  # an existing file keeps its old mode through O_CREAT
    return path
