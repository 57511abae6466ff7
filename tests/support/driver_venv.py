"""A driver venv holding only opshub (built from this checkout), for cluster tests.

Cached in the temp dir under a key that hashes everything that goes into it (this
checkout's ``hub/``, ``runtime_env/`` and ``pyproject.toml``, Ray's and Python's
versions), so an edit to opshub makes a new one and a stale one is never reused.
numpy is its one addition: stages hand their outputs (numpy arrays) back through
the driver today, and Ray needs numpy to unpickle them.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import ray
from uv import find_uv_bin

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "opshub-driver-"
EXTRA = ("numpy",)  # the type of the results (see the module docstring)
STALE_AFTER_S = 86400.0


def driver_venv() -> Path:
    """The python of a venv with opshub, its dependencies and numpy, and nothing else."""
    home = Path(tempfile.gettempdir()) / f"{PREFIX}{_key()}"
    python = home / "bin" / "python"
    if python.exists():
        os.utime(home)
        return python
    _remove_stale()
    tmp = home.with_name(home.name + f".{os.getpid()}.tmp")
    uv = find_uv_bin()
    subprocess.run([uv, "venv", "-q", "--seed", "--python", sys._base_executable, str(tmp)],
                   check=True)
    extras = [f"{name}=={_version(name)}" for name in EXTRA]
    subprocess.run([uv, "pip", "install", "-q", "--python", str(tmp / "bin" / "python"),
                    str(ROOT), f"ray[default]=={ray.__version__}", *extras], check=True)
    if not python.exists():
        os.replace(tmp, home)
    shutil.rmtree(tmp, ignore_errors=True)
    return python


def _key() -> str:
    digest = hashlib.sha256(f"{sys.version}|{ray.__version__}|{EXTRA}".encode())
    files = [ROOT / "pyproject.toml", *sorted((ROOT / "hub").rglob("*")),
             *sorted((ROOT / "runtime_env").rglob("*"))]
    for path in files:
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


def _remove_stale() -> None:
    """Driver venvs of older code nobody used for a day (they are re-made on demand)."""
    for old in Path(tempfile.gettempdir()).glob(f"{PREFIX}*"):
        try:
            if time.time() - old.stat().st_mtime > STALE_AFTER_S:
                shutil.rmtree(old, ignore_errors=True)
        except OSError:
            pass
