"""pip-tools vs uv on the same inputs: cold, warm, and opshub's lock cache; do pins agree?

    .venv/bin/python benchmarks/resolution.py [--repeat 3]

cold:   empty resolver caches (fresh UV_CACHE_DIR / PIP_CACHE_DIR), a real resolver run
warm:   the same resolver run again with its HTTP caches filled
cached: opshub's LockCache hit (no resolver process at all)
All runs use Ray's installed closure as constraints, exactly as `hub lock` does.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from runtime_env import PYPI, Lock, LockCache, LockRequest, Target, base_constraints, get_resolver

INPUTS = {
    "tabulate": ["tabulate>=0.9"],
    "toolz+six": ["toolz==1.0.0", "six"],
    "requests+pillow+numpy": ["requests", "pillow", "numpy"],
    "rich+typer": ["rich", "typer"],
}


def runner_with_caches(cache: Path) -> Callable[[list[str]], subprocess.CompletedProcess[str]]:
    env = {**os.environ, "UV_CACHE_DIR": str(cache / "uv"), "PIP_CACHE_DIR": str(cache / "pip"),
           "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    return lambda cmd: subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def measure(name: str, reqs: list[str], repeat: int) -> dict[str, object]:
    target = Target.current()
    request = LockRequest.create(reqs, base_constraints(target), target, [PYPI])
    row: dict[str, object] = {"inputs": name}
    pins = {}
    for resolver_name in ("pip-tools", "uv"):
        lock, row[resolver_name] = _three_timings(resolver_name, request, repeat)
        pins[resolver_name] = lock.as_dict
    row["pins"] = len(pins["uv"])
    row["agree"] = pins["uv"] == pins["pip-tools"]
    if not row["agree"]:
        row["diff"] = {k: (pins["pip-tools"].get(k), pins["uv"].get(k))
                       for k in set(pins["uv"]) | set(pins["pip-tools"])
                       if pins["pip-tools"].get(k) != pins["uv"].get(k)}
    return row


def _three_timings(resolver_name: str, request: LockRequest, repeat: int
                   ) -> tuple[Lock, tuple[float, float, float]]:
    with tempfile.TemporaryDirectory() as tmp:
        resolver = get_resolver(resolver_name, runner_with_caches(Path(tmp)))
        cache = LockCache(Path(tmp) / "cold")
        cold, lock = timed(lambda: cache.get_or_resolve(request, resolver))
        warm = statistics.median(
            timed(lambda: LockCache(Path(tempfile.mkdtemp(dir=tmp))).get_or_resolve(
                request, resolver))[0] for _ in range(repeat))
        cached = statistics.median(
            timed(lambda: cache.get_or_resolve(request, resolver))[0] for _ in range(repeat))
    assert isinstance(lock, Lock)
    return lock, (cold, warm, cached)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, resolvers: pip-tools "
          f"{get_resolver('pip-tools').version}, uv {get_resolver('uv').version}")
    print(f"{'inputs':24} {'pins':>4}  {'pip-tools cold/warm (s)/cached':>32}  "
          f"{'uv cold/warm (s)/cached':>26}  agree")
    for name, reqs in INPUTS.items():
        row = measure(name, reqs, args.repeat)
        fmt = lambda t: f"{t[0]:.3f}/{t[1]:.3f}/{t[2] * 1000:.2f}ms"
        print(f"{name:24} {row['pins']:>4}  {fmt(row['pip-tools']):>32}  {fmt(row['uv']):>26}  "
              f"{row['agree']}{'' if row['agree'] else ' ' + str(row['diff'])}")


if __name__ == "__main__":
    main()
