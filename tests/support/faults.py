"""Faults of the filesystem and of SQLite, made for real (no mocks)."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


@contextlib.contextmanager
def unwritable(path: Path) -> Iterator[None]:
    """``path`` cannot be written or replaced for the block, even by root.

    Modes do not stop root, so as root the file is also made immutable (``chattr +i``,
    ext4 and most Linux filesystems); where that is impossible the test is skipped.
    """
    mode = path.stat().st_mode
    path.chmod(0o444)
    immutable = os.geteuid() == 0
    if immutable and (shutil.which("chattr") is None or subprocess.run(
            ["chattr", "+i", str(path)], capture_output=True, check=False).returncode):
        path.chmod(mode)
        pytest.skip("running as root where chattr +i is unavailable: nothing is read-only")
    try:
        yield
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        path.chmod(mode)


@contextlib.contextmanager
def sqlite_locked(db_path: Path) -> Iterator[None]:
    """Another connection holds ``db_path`` exclusively (as a backup tool or a stuck
    process could): in WAL mode, with the exclusive locking mode, not even reads pass."""
    holder = sqlite3.connect(db_path, isolation_level=None)
    try:
        holder.execute("PRAGMA locking_mode=EXCLUSIVE")
        holder.execute("BEGIN EXCLUSIVE")
        holder.execute("CREATE TABLE IF NOT EXISTS held_by_a_test (x)")  # takes the lock
        yield
        holder.execute("ROLLBACK")
    finally:
        holder.close()


def tree(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` with its bytes (None: a folder), to compare before/after."""
    return {str(p.relative_to(root)): None if p.is_dir() else p.read_bytes()
            for p in sorted(root.rglob("*"))}
