"""Section 5: `hub list` with every first-party operator installed, against `python -c pass`."""

from __future__ import annotations

import sys
from pathlib import Path

import _goals as goals
from _common import (
    FIRST_PARTY,
    Section,
    env_with_path,
    first_party_site,
    median_seconds,
    row,
    target,
)
from _common import run as run_cmd

BASE = "python -c pass"


def run(quick: bool, network: bool) -> Section:
    repeat = 3 if quick else 15
    env = env_with_path(first_party_site())
    hub_list = [str(Path(sys.executable).with_name("hub")), "list"]
    listed = run_cmd(hub_list, env).stdout
    missing = [name for name in FIRST_PARTY if name not in listed]
    if missing:
        raise RuntimeError(f"`hub list` does not show {', '.join(missing)}:\n{listed}")
    seconds = {BASE: median_seconds([sys.executable, "-c", "pass"], repeat, env),
               "hub list (3 first-party operators)": median_seconds(hub_list, repeat, env),
               "python -c 'import hub'": median_seconds([sys.executable, "-c", "import hub"],
                                                        repeat, env)}
    rows = [row(name, s * 1000, "ms", seconds[BASE] * 1000, f"median of {repeat}")
            for name, s in seconds.items()]
    listing = seconds["hub list (3 first-party operators)"]
    return Section(title="Start-up (subprocess wall time)", baseline=BASE, rows=rows,
                   targets=[target(goals.HUB_LIST, f"{listing * 1000:.0f} ms", listing < 0.5)],
                   notes=[_import_profile(env)])


def _import_profile(env: dict[str, str], top: int = 6) -> str:
    """Where `hub list` spends its start-up: the slowest imports (``python -X importtime``)."""
    out = run_cmd([sys.executable, "-X", "importtime", "-m", "hub", "list"], env).stderr
    cumulative: dict[str, float] = {}
    for line in out.splitlines()[1:]:  # "import time: self | cumulative | name"
        _, total, name = line.split("|")
        if len(name) - len(name.lstrip()) <= 3:  # a top-level import or its direct children
            cumulative[name.strip()] = int(total) / 1000
    slowest = sorted(cumulative.items(), key=lambda kv: -kv[1])[:top]
    return "`python -X importtime -m hub list`, slowest imports (cumulative ms): " + ", ".join(
        f"{name} {ms:.0f}" for name, ms in slowest)
