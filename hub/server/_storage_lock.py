"""One process at a time serves or repairs a storage (#11).

`hub serve` holds ``hub.lock`` in the storage for as long as it runs, and `hub admin
recover` while it repairs: recovery removes ``incoming/`` temporaries and may move the
database aside, which would break a running server's uploads (a second `hub serve` on
the same storage recovers at start too). Other commands (`hub token`, `hub admin
check`) go through SQLite's own locking and may run beside a server.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout

from .._exceptions import StorageError

LOCK_FILE = "hub.lock"


@contextlib.contextmanager
def storage_lock(root: Path, holder: str) -> Iterator[None]:
    """Hold the storage's lock for ``holder`` (e.g. "hub serve"); StorageError at once when
    another process holds it."""
    root = Path(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(root / LOCK_FILE), timeout=0)
        lock.acquire()
    except Timeout:
        raise StorageError(f"cannot run {holder}: the storage {root} is in use by another "
                           "hub process (a running `hub serve` or `hub admin recover`); stop "
                           "it first, or pass another --storage", root) from None
    except OSError as exc:
        raise StorageError(f"cannot use {root} as the hub's storage: {exc.strerror or exc}; "
                           "pass a folder you can write to (--storage) or fix its "
                           "permissions", root) from None
    try:
        yield
    finally:
        lock.release()
