"""Section: the data plane (issue 12). decode (item -> 1 MiB array) then embed (a class
stage, array -> float), 2 workers, on Ray: opshub eager, opshub stream, opshub stream
unfused (decode's blocks reach the embed actors through the object store) and Ray Data at
their default resources, items/s and the driver's peak RSS (benchmarks/data_plane.py
runs each mode in a fresh driver). The fused opshub modes also run at three times the
length, to show the driver's memory does not grow with the number of items.

The "before issue 12" target compares with the issue's own figure: opshub streamed 540
items/s over 2,000 items (embed at default resources), on the machine the issue was
measured on. ``OPSHUB_BASELINE_SRC=<dir>`` adds the opshub modes run from an older
checkout (e.g. ``git archive <commit> hub runtime_env | tar -x -C <dir>``), side by side,
for reference only: that code hung at default resources (issue 12), so its rows use
``num_cpus=0.5`` for the embed actors and are not the figure the target names.
"""

from __future__ import annotations

import os
from pathlib import Path

import _goals as goals
import data_plane as dp  # benchmarks/data_plane.py
from _common import Row, Section, Target, row, target

WORKERS = 2
TODAY = 540.0  # items/s, opshub streamed before issue 12 (the issue's own measurement)
TODAY_ITEMS = 2000  # over this many items
RSS_LIMIT_MB = 600


def run(quick: bool, network: bool) -> Section:
    n = 400 if quick else 2000
    results = {f"{mode} ({n:,})": dp.measure_isolated(mode, n, WORKERS) for mode in dp.MODES}
    for mode in dp.FUSED:
        results[f"{mode} ({3 * n:,})"] = dp.measure_isolated(mode, 3 * n, WORKERS)
    baseline = os.environ.get("OPSHUB_BASELINE_SRC")
    if baseline:
        for mode in dp.FUSED:
            results[f"{mode} ({n:,}), {Path(baseline).name}, embed num_cpus=0.5"] = \
                dp.measure_isolated(mode, n, WORKERS, Path(baseline).resolve(), 0.5)
    ray_data = results[f"Ray Data ({n:,})"]
    base = ray_data["items"] / ray_data["seconds"]
    rows = [row(name, m["items"] / m["seconds"], "items/s", base,
                f"driver peak RSS {m['rss_peak_mb']:,.0f} MB "
                f"(+{m['rss_peak_mb'] - m['rss_before_mb']:,.0f}); {m['seconds']:.2f} s")
            for name, m in results.items()]
    return Section(
        title=f"Data plane: decode (1 MiB arrays) then embed, {n:,} items, {WORKERS} workers",
        baseline=f"Ray Data ({n:,})", rows=rows, targets=_targets(n, results, rows, baseline),
        notes=[("Each mode in its own driver process and local Ray (2 CPUs, object store "
               "2 GiB); ray.init not timed, actor start-up timed. Default resources for all: "
               "opshub fuses decode into the embed actors' calls (\"unfused\": fuse=False on "
               "embed, decode's tasks hand blocks to the embed actors through the object "
               "store), Ray Data fuses the read, the map and the actor stage.")])


def _targets(n: int, results: dict[str, dp.Measured], rows: list[Row],
             baseline: str | None) -> list[Target]:
    rate = {r["name"]: r["value"] for r in rows}
    ours = min(rate[f"{m} ({n:,})"] for m in dp.FUSED)
    theirs = rate[f"Ray Data ({n:,})"]
    peaks = {k: m["rss_peak_mb"] for k, m in results.items() if k.startswith("opshub")
             and "embed num_cpus" not in k}
    flat = all(peaks[f"{m} ({3 * n:,})"] - peaks[f"{m} ({n:,})"] < 50 for m in dp.FUSED)
    return [
        target(goals.DATA_PLANE_VS_RAY_DATA,
               f"{ours:,.0f} vs {theirs:,.0f} items/s ({ours / theirs:.1f}x)", ours >= 3 * theirs),
        target(goals.DATA_PLANE_VS_BEFORE, _before_text(n, ours, rate, baseline),
               ours >= TODAY),
        target(goals.DATA_PLANE_RSS,
               f"at most {max(peaks.values()):,.0f} MB: "
               + ", ".join(f"{k} {v:,.0f} MB" for k, v in peaks.items()),
               max(peaks.values()) < RSS_LIMIT_MB and flat),
    ]


def _before_text(n: int, ours: float, rate: dict[str, float], baseline: str | None) -> str:
    """The figure against the issue's measurement, said as what it is."""
    text = (f"{ours:,.0f} vs {TODAY:,.0f} items/s (the issue's figure for opshub streamed "
            f"before issue 12, {TODAY_ITEMS:,} items, on the machine it was measured on")
    text += f"; this run: {n:,} items)" if n != TODAY_ITEMS else ")"
    older = [v for k, v in rate.items() if "embed num_cpus=0.5" in k]
    if baseline and older:
        text += (f"; the older checkout here, with embed at num_cpus=0.5 (it hangs at the "
                 f"defaults): {max(older):,.0f} items/s, for reference")
    return text
