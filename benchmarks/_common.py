"""Helpers shared by the benchmark sections: rows, timing, subprocesses, operator sites."""

from __future__ import annotations

import atexit
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypedDict

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"
OPERATORS = ROOT / "operators"
FIRST_PARTY = ("image-decode", "image-embed", "text-embed")


class Row(TypedDict, total=False):
    """One line of a section's table; ``ratio`` is against the section's baseline row."""

    name: str
    value: float
    unit: str
    ratio: float | None
    note: str


class Target(TypedDict):
    """A goal from issue 7 and whether this run met it."""

    target: str
    figure: str
    met: bool | None


class Section(TypedDict, total=False):
    """What one section measured; ``error`` replaces rows when it could not run."""

    title: str
    baseline: str
    rows: list[Row]
    targets: list[Target]
    notes: list[str]
    error: str
    seconds: float


def row(name: str, value: float, unit: str, base: float | None, note: str = "") -> Row:
    """A row with its ratio ``value / base`` (read with the unit: a rate or a time)."""
    return Row(name=name, value=value, unit=unit, ratio=value / base if base else None,
               note=note)


def target(text: str, figure: str, met: bool | None) -> Target:
    return Target(target=text, figure=figure, met=met)


def timed(fn: Callable[[], Any]) -> float:
    """Seconds one call of ``fn`` takes."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def median_seconds(cmd: Sequence[str], repeat: int, env: dict[str, str] | None = None) -> float:
    """Median wall time of running ``cmd`` ``repeat`` times (each must succeed)."""
    return statistics.median(timed(lambda: run(cmd, env)) for _ in range(repeat))


def run(cmd: Sequence[str], env: dict[str, str] | None = None,
        cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``cmd``; on failure raise with the command and the tail of its output."""
    out = subprocess.run(list(cmd), env=env, cwd=cwd, capture_output=True, text=True,
                         check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} exited {out.returncode}: "
                           f"{(out.stderr or out.stdout)[-1500:]}")
    return out


def uv() -> str:
    from uv import find_uv_bin

    return str(find_uv_bin())


def first_party_site() -> Path:
    """The first-party operators installed (no deps) into a temp folder this process owns."""
    site = Path(tempfile.mkdtemp(prefix="ohs-", dir="/tmp"))
    atexit.register(shutil.rmtree, site, ignore_errors=True)
    run([uv(), "pip", "install", "--quiet", "--no-deps", "--target", str(site),
         *(str(OPERATORS / name) for name in FIRST_PARTY)])
    return site


def env_with_path(site: Path) -> dict[str, str]:
    """This environment with ``site`` first on PYTHONPATH (subprocesses, Ray workers)."""
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(site), path]))}


def put_on_path(site: Path) -> None:
    """Make ``site`` importable here and in every process started from now on."""
    sys.path.insert(0, str(site))
    os.environ.update(PYTHONPATH=env_with_path(site)["PYTHONPATH"])


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A Markdown table; every column after the first is a right-aligned figure."""
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
