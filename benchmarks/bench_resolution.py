"""Section 3: pip-tools against uv, cold and warm, and opshub's cached lookup (LockCache hit),
for each first-party operator's requirements (RUNTIME_ENV's benchmarks/resolution.py)."""

from __future__ import annotations

from typing import Any

import _goals as goals
import resolution  # benchmarks/resolution.py, owned by RUNTIME_ENV
from _common import FIRST_PARTY, Row, Section, first_party_site, put_on_path, row, target


def run(quick: bool, network: bool) -> Section:
    put_on_path(first_party_site())  # so their metadata (the requirements) is found
    from runtime_env import Target, requirements_for

    repeat = 1 if quick else 2  # pip-tools takes ~20 s per run on image-embed (torch)
    names = ["image-decode"] if quick else list(FIRST_PARTY)
    rows: list[Row] = []
    cached: list[float] = []
    for name in names:
        measured = resolution.measure(name, requirements_for(name, Target.current()), repeat)
        rows += _rows(name, measured)
        cached += [measured[r][2] for r in ("pip-tools", "uv")]
    worst = max(cached)
    return Section(
        title="Resolution of the first-party operators' requirements (Ray's closure as "
              "constraints)", baseline="pip-tools, cold", rows=rows,
        targets=[target(goals.CACHED_RESOLUTION, f"{worst * 1000:.1f} ms (slowest hit)",
                        worst < 0.05)],
        notes=["cold: empty resolver caches; warm: caches filled; cached: opshub's LockCache "
               f"hit, no resolver process; warm and cached are medians of {repeat}."])


def _rows(name: str, measured: dict[str, Any]) -> list[Row]:
    """Six rows: each resolver cold, warm and cached, against pip-tools cold."""
    base = measured["pip-tools"][0]
    agree = "pins agree" if measured["agree"] else f"pins differ: {measured.get('diff')}"
    note = f"{measured['pins']} pins, {agree}"
    phases = ("cold", "warm", "cached")
    return [row(f"{name}: {resolver} {phase}", seconds * 1000, "ms", base * 1000, note)
            for resolver in ("pip-tools", "uv")
            for phase, seconds in zip(phases, measured[resolver])]
