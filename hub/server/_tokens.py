"""Upload tokens: random secrets with a recognizable prefix, stored only as hashes.

A token may upload to and yank every project, or only the projects it names
(``hub token create --project NAME``); `hub token list` shows each token's prefix,
creation time and scope, never the secret; `hub token revoke PREFIX` ends it (the
local token is replaced by a new one when it is the one revoked).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .._exceptions import HubError
from .._local_hub import LOCAL_TOKEN_FILE, storage_token
from ._storage import Storage, TokenRecord, token_hash

TOKEN_PREFIX = "ohub_"

__all__ = ["LOCAL_TOKEN_FILE", "TOKEN_PREFIX", "Revoked", "check_token", "create_token",
           "find_token", "revoke_token", "write_local_token"]


def create_token(storage: Storage, projects: Sequence[str] | None = None) -> str:
    """A new token for every project (or only ``projects``); the plaintext is returned once."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    storage.add_token(token, projects)
    return token


def find_token(storage: Storage, token: str) -> TokenRecord | None:
    """The stored record of ``token``, or None (a lookup by hash: nothing to time)."""
    return storage.token(token_hash(token)) if token else None


def check_token(storage: Storage, token: str) -> bool:
    """Whether ``token`` is one of the storage's tokens."""
    return find_token(storage, token) is not None


@dataclass(frozen=True)
class Revoked:
    """What `hub token revoke` did: the token revoked, and where a new local token was
    written when it was the local one (None otherwise)."""

    record: TokenRecord
    new_local_token: Path | None = None


def revoke_token(storage: Storage, prefix_or_token: str) -> Revoked:
    """Revoke the token given whole, or by the prefix `hub token list` shows.

    Revoking the local token rotates it: a new one (same scope) is written to
    ``local-token`` first, so same-machine clients keep working and the file never holds
    a revoked token (#11: it went stale, clients got 403, and with the journal lost
    recovery registered the revoked token again from the file).
    """
    record = _one_token(storage, prefix_or_token)
    local = storage_token(storage.root)
    rotated = None
    if local is not None and token_hash(local) == record.sha256:
        rotated = write_local_token(storage, create_token(storage, record.projects))
    storage.revoke_token(record.sha256)
    return Revoked(record, rotated)


def _one_token(storage: Storage, prefix_or_token: str) -> TokenRecord:
    record = find_token(storage, prefix_or_token)
    matches = [record] if record else [t for t in storage.tokens()
                                       if t.prefix and t.prefix.startswith(prefix_or_token)]
    if len(prefix_or_token) < len(TOKEN_PREFIX) + 4 and not record:
        matches = []  # "ohub_" alone would match everything
    if len(matches) != 1:
        shown = ", ".join(t.prefix or "?" for t in matches) or "none"
        raise HubError(f"{prefix_or_token!r} must name exactly one token by the prefix "
                       f"`hub token list` shows (at least {len(TOKEN_PREFIX) + 4} characters); "
                       f"it matches {shown}")
    return matches[0]


def write_local_token(storage: Storage, token: str) -> Path:
    """Write the token for same-machine clients, readable by its owner only (0600)."""
    path = storage.root / LOCAL_TOKEN_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(token + "\n")
    os.chmod(path, 0o600)  # an existing file keeps its old mode through O_CREAT
    return path
