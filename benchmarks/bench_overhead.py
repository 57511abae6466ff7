"""Section 1: per-item overhead of a trivial operator (runs PIPELINE's pipeline_overhead modes)."""

from __future__ import annotations

import shutil
import tempfile

import _goals as goals
import pipeline_overhead as po  # benchmarks/pipeline_overhead.py, owned by PIPELINE
from _common import Row, Section, Target, row, target

BATCH, WORKERS = 256, 2
PLAIN, LOCAL = "plain loop", "opshub local"


def run(quick: bool, network: bool) -> Section:
    n = 5_000 if quick else 100_000
    seconds = _ray_and_local(n)
    notes = []
    if network:
        seconds["Towhee 1.1.3 pipe (flat_map + map)"] = po.towhee_seconds(n)
    else:
        notes.append("Towhee skipped (no network for its venv)")
    rows = [row(mode, n / s, "items/s", n / seconds[PLAIN], f"{s / n * 1e6:.2f} µs/item")
            for mode, s in seconds.items()]
    return Section(title=f"Per-item overhead, x + 1 over {n:,} items (batch {BATCH}, "
                   f"{WORKERS} workers)", baseline=PLAIN, rows=rows,
                   targets=_targets(n, seconds, rows), notes=notes)


def _ray_and_local(n: int) -> dict[str, float]:
    import ray

    temp = tempfile.mkdtemp(prefix="ohb-", dir="/tmp")
    ray.init(num_cpus=WORKERS, include_dashboard=False,
             _node_ip_address="127.0.0.1", _temp_dir=temp, log_to_driver=False)
    try:
        modes = {**po.opshub_modes(n, BATCH, WORKERS), **po.ray_data_modes(n, BATCH, WORKERS)}
        return {mode: po.timed(fn, n) for mode, fn in modes.items()}
    finally:
        ray.shutdown()
        shutil.rmtree(temp, ignore_errors=True)


def _targets(n: int, seconds: dict[str, float], rows: list[Row]) -> list[Target]:
    overhead = (seconds[LOCAL] - seconds[PLAIN]) / n * 1e6
    rate = {r["name"]: r["value"] for r in rows}
    ours = max(v for k, v in rate.items() if k.startswith("opshub Ray"))
    theirs = max(v for k, v in rate.items() if k.startswith("Ray Data"))
    return [
        target(goals.IN_PROCESS_OVERHEAD, f"{overhead:.2f} µs/item over the plain loop",
               overhead <= 3),
        target(goals.RAY_VS_RAY_DATA,
               f"{ours:,.0f} vs {theirs:,.0f} items/s ({ours / theirs:.2f}x)", ours >= theirs),
    ]
