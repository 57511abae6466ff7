"""An interpreter's environment as the client sees it, always read in a subprocess.

`hub install --python PATH` changes another environment (a throwaway venv, a
Ray node's env), so what is installed there is asked of that interpreter; the
running process never imports the plugins it inspects.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass

from ._exceptions import HubError
from ._tools import run

Row = tuple[str, str, str]  # (operator, distribution, version), as `hub list` shows them


def interpreter(python: str | None) -> str:
    """The interpreter to install into: ``python`` (checked) or the running one."""
    if python is None:
        return sys.executable
    if shutil.which(python) is None:
        raise HubError(f"--python {python}: no such interpreter — give the path of a python "
                       "executable, e.g. .venv/bin/python")
    return python


# Runs in the target interpreter: stdlib only, reads metadata, imports nothing else.
_ENTRY_POINTS_SCRIPT = """
import json, re
from importlib.metadata import distributions
norm = lambda n: re.sub(r"[-_.]+", "-", n).lower()
out = {}
for d in distributions():
    eps = [norm(e.name) for e in d.entry_points if e.group == "opshub.operators"]
    if eps:
        out.setdefault(norm(d.metadata["Name"]), []).extend(eps)
print(json.dumps(out))
"""


def operator_entry_points(python: str) -> dict[str, list[str]]:
    """Installed distributions of ``python`` with operator entry points (normalized names)."""
    data: dict[str, list[str]] = json.loads(
        run("reading entry points", [python, "-c", _ENTRY_POINTS_SCRIPT]).stdout
    )
    return data


def operators_in(python: str) -> set[Row] | None:
    """The operators `hub list` shows in ``python``'s environment; None when it cannot
    list them there (no opshub in it, e.g. a bare Ray node's env: installs still work)."""
    out = subprocess.run([python, "-m", "hub", "list", "--json"], capture_output=True,
                         check=False, text=True)
    if out.returncode != 0:
        return None
    return {(r["name"], r["distribution"], r["version"]) for r in json.loads(out.stdout)}


@dataclass(frozen=True)
class Installed:
    """A distribution installed in an environment, as `hub install` checks it."""

    name: str  # canonical
    version: str
    requires: tuple[str, ...]
    metadata_sha256: str  # of its METADATA file: installers copy it from the wheel as is
    direct: bool  # installed from a URL or a folder (PEP 610), not from an index


# Runs in the target interpreter: stdlib only.
_INSTALLED_SCRIPT = """
import hashlib, json, re
from importlib.metadata import distributions
out = []
for d in distributions():
    path = getattr(d, "_path", None)
    try:
        meta = (path / "METADATA").read_bytes() if path is not None else b""
    except OSError:
        meta = b""
    out.append({"name": re.sub(r"[-_.]+", "-", d.metadata["Name"] or "").lower(),
                "version": d.version, "requires": d.requires or [],
                "metadata_sha256": hashlib.sha256(meta).hexdigest(),
                "direct": d.read_text("direct_url.json") is not None})
print(json.dumps(out))
"""


def installed(python: str) -> dict[str, Installed]:
    """Every distribution installed in ``python``'s environment, by canonical name."""
    rows = json.loads(run("reading installed packages", [python, "-c", _INSTALLED_SCRIPT]).stdout)
    return {r["name"]: Installed(r["name"], r["version"], tuple(r["requires"]),
                                 r["metadata_sha256"], r["direct"]) for r in rows}
