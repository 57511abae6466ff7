"""Per-item overhead of a trivial operator: opshub's backends against a plain loop,
Ray Data ``map_batches`` and Towhee 1.1.3's ``pipe``, in one run.

    .venv/bin/python benchmarks/pipeline_overhead.py [--items 200000] [--batch 256]

Every mode applies ``x + 1`` to ``--items`` integers with the same batch size and
worker count, and is timed end to end (actor start-up included); Ray itself is
started once beforehand (its own temp dir, 2 CPUs) and not counted. Towhee runs
in its own venv under benchmarks/.work/ (created on first use) as a subprocess,
timed inside it. Prints a Markdown table with ratios to the plain loop.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))  # run from a checkout without installing

from hub.pipeline import DataCollection, per_worker

WORK = ROOT / ".work"
TOWHEE_VENV = WORK / "towhee-venv"
TOWHEE = "towhee==1.1.3"
TOWHEE_SCRIPT = """
import json, sys, time
from towhee import pipe
n = int(sys.argv[1])
p = pipe.input('xs').flat_map('xs', 'x', lambda xs: xs).map('x', 'y', lambda x: x + 1).output('y')
start = time.perf_counter()
out = [row[0] for row in p(list(range(n))).to_list()]
elapsed = time.perf_counter() - start
assert out == list(range(1, n + 1))
print(json.dumps({"seconds": elapsed}))
"""


def add_one(x: int) -> int:
    return x + 1


class AddOne:
    """The class form: what an actor builds once."""

    def __call__(self, x: int) -> int:
        return x + 1


class AddOneBatches:
    """The Ray Data form: a batch of rows in, a batch out."""

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        return {"id": batch["id"] + 1}


def timed(run: Callable[[], Iterable[Any]], expected: int) -> float:
    start = time.perf_counter()
    total = sum(1 for _ in run())
    elapsed = time.perf_counter() - start
    if total != expected:
        raise SystemExit(f"a mode returned {total} items, not {expected}")
    return elapsed


def opshub_modes(n: int, batch: int, workers: int) -> dict[str, Callable[[], Iterable[Any]]]:
    def stage(fn: Any, backend: str, **options: Any) -> Callable[[], Iterable[Any]]:
        parallel = {} if backend == "local" else {"num_worker": workers}  # local: the caller
        return lambda: DataCollection(iter(range(n))).map(
            fn, backend=backend, chunk_size=batch, runtime_env=False, progress=False,
            **parallel, **options,
        )

    return {
        "plain loop": lambda: [add_one(x) for x in range(n)],
        "opshub local": stage(add_one, "local"),
        f"opshub threads ({workers})": stage(add_one, "thread"),
        f"opshub Ray tasks ({workers} CPUs)": stage(add_one, "ray"),
        f"opshub Ray actors ({workers})": stage(per_worker(AddOne), "ray"),
    }


def ray_data_modes(n: int, batch: int, workers: int) -> dict[str, Callable[[], Iterable[Any]]]:
    import ray

    ray.data.DataContext.get_current().enable_progress_bars = False

    def run(fn: Any, **options: Any) -> Callable[[], Iterable[Any]]:
        return lambda: ray.data.range(n).map_batches(
            fn, batch_size=batch, batch_format="numpy", **options
        ).iter_rows()

    return {
        f"Ray Data map_batches, tasks (concurrency {workers})":
            run(lambda b: {"id": b["id"] + 1}, concurrency=workers),
        f"Ray Data map_batches, actors ({workers}, num_cpus=0.5)":
            run(AddOneBatches, concurrency=workers, num_cpus=0.5),
    }


def towhee_seconds(n: int) -> float:
    """Towhee's pipe in its own venv (made once with uv), timed inside the subprocess."""
    python = TOWHEE_VENV / "bin" / "python"
    if not python.exists():
        uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or "uv"
        subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(TOWHEE_VENV)], check=True)
        # towhee 1.1.3 imports pkg_resources, gone from setuptools 81
        subprocess.run([uv, "pip", "install", "-q", "--python", str(python), TOWHEE,
                        "setuptools<81"], check=True)
    out = subprocess.run([str(python), "-W", "ignore", "-c", TOWHEE_SCRIPT, str(n)],
                         capture_output=True, text=True, check=True)
    return float(json.loads(out.stdout.strip().splitlines()[-1])["seconds"])


def table(n: int, results: dict[str, float]) -> str:
    from _common import markdown_table  # benchmarks/, this script's folder

    base = results["plain loop"]
    return markdown_table(
        ["mode", "seconds", "items/s", "µs/item", "× plain loop"],
        ([mode, f"{s:.3f}", f"{n / s:,.0f}", f"{s / n * 1e6:.2f}", f"{s / base:,.0f}"]
         for mode, s in results.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-towhee", action="store_true", help="skip Towhee (no venv)")
    args = parser.parse_args()
    n = args.items
    import ray

    temp = tempfile.mkdtemp(prefix="opshub-bench-")
    ray.init(num_cpus=args.workers, include_dashboard=False,
             _node_ip_address="127.0.0.1", _temp_dir=temp,
             log_to_driver=False)
    try:
        modes = {**opshub_modes(n, args.batch, args.workers),
                 **ray_data_modes(n, args.batch, args.workers)}
        results = {mode: timed(run, n) for mode, run in modes.items()}
    finally:
        ray.shutdown()
        shutil.rmtree(temp, ignore_errors=True)
    if not args.no_towhee:
        results["Towhee 1.1.3 pipe (flat_map + map)"] = towhee_seconds(n)
    print(f"\n{n:,} items, batch {args.batch}, {args.workers} workers\n")
    print(table(n, results))


if __name__ == "__main__":
    main()
