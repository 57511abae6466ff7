"""The data plane: decode (item -> 1 MiB array) then embed (a class stage, array -> float),
on Ray, for opshub eager, opshub stream and Ray Data, in one run (issue 12).

opshub fuses decode into the embed actors' calls by default, so the decoded arrays never
leave the actors; "opshub stream unfused" passes ``fuse=False`` to the embed stage, so
decode's tasks hand each block to the embed actors through Ray's object store (the
stage-to-stage path of pipelines whose stages do not fuse).

    .venv/bin/python benchmarks/data_plane.py [--items 2000] [--workers 2] [--baseline DIR]

Each mode runs in its own driver process with its own local Ray (``--workers`` CPUs, an
object store capped at 2 GiB), so one mode's memory cannot inflate the next one's figure;
``ray.init`` is not timed, actor start-up is. The driver's peak RSS is sampled with psutil
every 10 ms during the run. ``--baseline DIR`` also runs the opshub modes with the opshub
found in DIR (a checkout of an older commit, e.g. ``git archive``'d), side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypedDict

import numpy as np

ROOT = Path(__file__).resolve().parent
MIB = 1024 * 1024
OBJECT_STORE = 2 * 1024**3
MODES = ("opshub eager", "opshub stream", "opshub stream unfused", "Ray Data")
FUSED = MODES[:2]  # opshub at its defaults


class Measured(TypedDict):
    """One mode's run: how long, how many results, and the driver's memory."""

    seconds: float
    items: int
    rss_before_mb: float
    rss_peak_mb: float


def decode(i: int) -> np.ndarray:
    """An item to a 1 MiB array (what decoding an image does to the data's size)."""
    return np.full(MIB, i % 251, dtype=np.uint8)


class Embed:
    """A class stage: built once per worker, one float per array (touches every byte)."""

    def __init__(self) -> None:
        self.scale = 1.0 / 255

    def __call__(self, array: np.ndarray) -> float:
        return float(array.mean()) * self.scale


class EmbedBatches:
    """Ray Data's form of ``Embed``: a numpy batch in, a batch of floats out."""

    def __init__(self) -> None:
        self.embed = Embed()

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {"vector": np.array([self.embed(a) for a in batch["data"]])}


def _decode_row(row: dict[str, Any]) -> dict[str, Any]:
    return {"data": decode(int(row["id"]))}


def opshub_run(n: int, workers: int, mode: str, embed_cpus: float | None
               ) -> Callable[[], list[Any]]:
    from hub.pipeline import DataCollection, per_worker

    def run() -> list[Any]:
        dc = DataCollection(range(n))
        dc = dc.stream() if "stream" in mode else dc
        options: dict[str, Any] = {"backend": "ray", "num_worker": workers,
                                   "runtime_env": False, "progress": False}
        embed = {"num_cpus": embed_cpus} if embed_cpus else {}
        if "unfused" in mode:
            embed["fuse"] = False
        return dc.map(decode, **options).map(per_worker(Embed), **options, **embed).to_list()

    return run


def ray_data_run(n: int, workers: int) -> Callable[[], list[Any]]:
    import ray

    ray.data.DataContext.get_current().enable_progress_bars = False

    def run() -> list[Any]:
        # Default resources, as for opshub: Ray Data fuses the read, the map and the
        # actor stage into one actor (at num_cpus=0.5 it ran 153 vs 199 items/s here).
        ds = ray.data.range(n).map(_decode_row).map_batches(
            EmbedBatches, batch_format="numpy", concurrency=workers)
        return [row["vector"] for row in ds.iter_rows()]

    return run


@contextmanager
def peak_rss() -> Iterator[dict[str, float]]:
    """Sample this process's RSS every 10 ms; yields a dict filled with before/peak MB."""
    import psutil

    proc, found = psutil.Process(), {"before": 0.0, "peak": 0.0}
    found["before"] = found["peak"] = proc.memory_info().rss / MIB
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.01):
            found["peak"] = max(found["peak"], proc.memory_info().rss / MIB)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield found
    finally:
        done.set()
        thread.join()
        found["peak"] = max(found["peak"], proc.memory_info().rss / MIB)


def measure(mode: str, n: int, workers: int, embed_cpus: float | None = None) -> Measured:
    """Run one mode here, on a local Ray of its own."""
    import ray

    temp = tempfile.mkdtemp(prefix="ohd-", dir="/tmp")
    ray.init(num_cpus=workers, include_dashboard=False, _node_ip_address="127.0.0.1",
             _temp_dir=temp, object_store_memory=OBJECT_STORE, log_to_driver=False)
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        run = ray_data_run(n, workers) if mode == "Ray Data" else \
            opshub_run(n, workers, mode, embed_cpus)
        with peak_rss() as rss:
            start = time.perf_counter()
            out = run()
            seconds = time.perf_counter() - start
    finally:
        ray.shutdown()
        shutil.rmtree(temp, ignore_errors=True)
    if len(out) != n:
        raise SystemExit(f"{mode} returned {len(out)} results, not {n}")
    return Measured(seconds=seconds, items=n, rss_before_mb=rss["before"],
                    rss_peak_mb=rss["peak"])


def measure_isolated(mode: str, n: int, workers: int, opshub: Path | None = None,
                     embed_cpus: float | None = None) -> Measured:
    """``measure`` in a fresh driver process (``opshub``: import opshub from that folder)."""
    path = [str(opshub)] if opshub else []
    path += [str(ROOT), str(ROOT.parent), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, path))}
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        done = subprocess.run(
            [sys.executable, __file__, "--one", mode, "--items", str(n), "--workers",
             str(workers), "--json-out", out.name]
            + (["--embed-cpus", str(embed_cpus)] if embed_cpus else []),
            env=env, capture_output=True, text=True, timeout=900, check=False,
            cwd=opshub or ROOT.parent)
        if done.returncode != 0:
            raise RuntimeError(f"{mode} failed: {done.stderr[-2000:]}")
        result: Measured = json.loads(Path(out.name).read_text())
    return result


def table(results: dict[str, Measured]) -> str:
    from _common import markdown_table

    return markdown_table(
        ["mode", "items/s", "seconds", "driver RSS before", "driver peak RSS"],
        ([mode, f"{m['items'] / m['seconds']:,.0f}", f"{m['seconds']:.2f}",
          f"{m['rss_before_mb']:,.0f} MB", f"{m['rss_peak_mb']:,.0f} MB"]
         for mode, m in results.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--baseline", type=Path, help="also run opshub from this checkout")
    parser.add_argument("--embed-cpus", type=float, help="num_cpus of the embed actors "
                        "(default: the stage's default, 1)")
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--json-out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        Path(args.json_out).write_text(json.dumps(
            measure(args.one, args.items, args.workers, args.embed_cpus)))
        return
    modes = args.modes.split(",")
    results = {mode: measure_isolated(mode, args.items, args.workers, None, args.embed_cpus)
               for mode in modes}
    if args.baseline:
        for mode in (m for m in modes if m.startswith("opshub")):
            results[f"{mode} ({args.baseline.name})"] = measure_isolated(
                mode, args.items, args.workers, args.baseline.resolve(), args.embed_cpus)
    print(f"\n{args.items:,} items of 1 MiB, {args.workers} workers\n")
    print(table(results))


if __name__ == "__main__":
    main()
