"""Client fixtures: a throwaway environment to install into, and the CLI as a subprocess."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from collections.abc import Callable
from pathlib import Path

import pytest
from uv import find_uv_bin


@pytest.fixture
def throwaway_python(tmp_path: Path) -> Path:
    """A fresh venv that also sees .venv's packages (opshub included) but installs into its own.

    The .pth line runs ``site.addsitedir`` so .venv's own .pth files (the editable
    opshub) are processed too; the venv's site-packages come first on sys.path.
    """
    venv = tmp_path / "venv"
    subprocess.run([find_uv_bin(), "venv", "--quiet", "--python", sys.executable, str(venv)],
                   check=True)
    python = venv / "bin" / "python"
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    parent = sysconfig.get_path("purelib")
    Path(site, "_opshub_parent.pth").write_text(f"import site; site.addsitedir({parent!r})\n")
    return python


@pytest.fixture
def hub_cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run `python -m hub ARGS...` as a subprocess (the environment is the test's)."""

    def run(*args: str | Path, python: str | Path = sys.executable,
            ok: bool = True) -> subprocess.CompletedProcess[str]:
        out = subprocess.run([str(python), "-m", "hub", *map(str, args)],
                             capture_output=True, check=False, text=True)
        if ok:
            assert out.returncode == 0, out.stderr
        return out

    return run
