"""Which hub on this machine wrote which local token, and a proof that it is listening.

`hub serve` records its URL and storage in ``<data dir>/local-hubs/<port>.json``,
so a client finds the token of a hub started with any ``--storage``. Before the
client sends that token it asks the server to prove it holds the storage's
``local-key`` (an HMAC of a fresh challenge and the port the hub was started
on), so a stand-in listener on another port, or on that port while the hub is
down, never receives the token (#11: one received it from `hub yank`). The port
is inside the proof, so relaying the challenge to the real hub does not help.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

RECORDS_DIR = "local-hubs"
LOCAL_TOKEN_FILE = "local-token"
LOCAL_KEY_FILE = "local-key"
PROOF_PATH = "/api/local-proof"


@dataclass(frozen=True)
class LocalHub:
    """A hub `hub serve` started on this machine: where it listens and what it keeps."""

    port: int
    storage: Path
    record: Path

    def token(self) -> str | None:
        """The storage's local token, or None when it has none."""
        return storage_token(self.storage)

    def key(self) -> bytes | None:
        """The secret the hub proves itself with, or None."""
        text = _read(self.storage / LOCAL_KEY_FILE)
        return text.encode("ascii") if text else None


def record_path(data_dir: Path, port: int) -> Path:
    """Where the record of a hub on ``port`` lives."""
    return Path(data_dir) / RECORDS_DIR / f"{port}.json"


def write_record(data_dir: Path, port: int, url: str, storage: Path) -> Path:
    """Record that the hub serving ``storage`` listens on ``port`` (atomically, 0600)."""
    path = record_path(data_dir, port)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"url": url, "port": port, "storage": str(Path(storage).resolve())})
    _write_private(path, text)
    return path


def remove_record(data_dir: Path, port: int, storage: Path) -> None:
    """Remove the record of ``port`` if it still names ``storage`` (another hub may own it)."""
    found = find(data_dir, f"http://127.0.0.1:{port}")
    if found is not None and found.storage == Path(storage).resolve():
        found.record.unlink(missing_ok=True)


def find(data_dir: Path, url: str) -> LocalHub | None:
    """The local hub recorded for ``url``'s port, when ``url`` is a loopback address."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    path = record_path(data_dir, port)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return LocalHub(port, Path(data["storage"]), path) if data["port"] == port else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def local_key(storage: Path) -> bytes:
    """The storage's proof secret, created on first use (0600)."""
    path = Path(storage) / LOCAL_KEY_FILE
    key = _read(path)
    if not key:
        key = secrets.token_hex(32)
        _write_private(path, key)
    return key.encode("ascii")


def new_challenge() -> str:
    return secrets.token_hex(16)


def proof(key: bytes, challenge: str, port: int) -> str:
    """The answer only the holder of ``key`` listening on ``port`` can give."""
    return hmac.new(key, f"opshub-local:{port}:{challenge}".encode(), hashlib.sha256).hexdigest()


def storage_token(storage: Path) -> str | None:
    """The local token kept in the hub storage folder ``storage``, or None."""
    return _read(storage / LOCAL_TOKEN_FILE)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except (OSError, UnicodeDecodeError):
        return None


def _write_private(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text + "\n")
    os.replace(temp, path)
