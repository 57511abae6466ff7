"""Issue #10 item 3: the fastest hash-pinned env for a bare Ray node, every mechanism side by side.

    .venv/bin/python benchmarks/bench_node_env.py [--runs 2] [--only uv,builder] [--json out.json]

The lock is image-embed's, CPU-only: the operator's own requirements (its pyproject) resolved
with ``uv pip compile --generate-hashes`` from the configured sources (pip's configuration and
the ``[hub]`` settings, as every lock: here PIP_FIND_LINKS holds the torch 2.13.0+cpu wheel),
torch==2.13.0+cpu and Ray's installed closure as constraints (nothing Ray has is
reinstalled). The cluster is the tests' (tests/support/cluster.py): a head from .venv and a
node from a venv holding only ``ray[default]`` (resource ``bare``).

Per mechanism, in a fresh cluster session: driver 1 starts two actors on the bare node at once
and waits until both answer (first use; one of them imports torch), then counts the builds on
the node; driver 2, a new process, runs one task in the same env (second use), against a plain
task of the same driver. The baseline, measured in the same run, is ``uv pip install`` of the
same lock into a fresh venv of the node's Python, with a cold and with a warm uv cache.
Every figure is also a ratio against that baseline: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypedDict

import tomllib
from _common import ROOT, Section, row, run, uv

sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
from support.cluster import Cluster, bare_venv, run_driver, start_cluster

from hub.config import load_settings
from runtime_env import NodeTool, PipSources, Sources, Target, base_constraints, installer_env
from runtime_env._node_builder import install_command
from runtime_env._node_env import node_env, requirement_lines

HASHED = ["--require-hashes", "--no-deps"]


def image_embed_requirements() -> list[str]:
    """The operator's own requirements, from its pyproject."""
    project = tomllib.loads((ROOT / "operators/image-embed/pyproject.toml").read_text())
    return list(project["project"]["dependencies"])


@functools.cache
def sources() -> Sources:
    """The sources every lock uses (pip's configuration and the [hub] settings)."""
    return Sources.from_settings(load_settings(), PipSources.read(os.environ))

DRIVER = '''
import json, sys, time
import ray
env = json.load(open("env.json"))
ray.init(address=sys.argv[1], log_to_driver=False)

@ray.remote(num_cpus=0, resources={"bare": 0.01})
class Probe:
    def info(self, torch=False):
        import importlib.metadata as m, os, sys
        if torch:  # after the timing: the env really holds a working torch, numpy, PIL
            import numpy, PIL, torch as t
            assert float(t.ones(3).sum()) == 3.0
        return {"prefix": sys.prefix, "torch": m.version("torch"), "pid": os.getpid()}

@ray.remote(num_cpus=0, resources={"bare": 0.01})
class Plain:
    def info(self):
        return 1

@ray.remote(num_cpus=0, resources={"bare": 0.01})
def task():
    import sys
    return sys.prefix

@ray.remote(num_cpus=0, resources={"bare": 0.01})
def plain():
    return 1

out = {}
started = time.monotonic()
if sys.argv[2] == "first":
    plain_actors = [Plain.remote() for _ in range(2)]
    ray.get([a.info.remote() for a in plain_actors], timeout=600)
    out["plain_s"] = time.monotonic() - started
    started = time.monotonic()
    actors = [Probe.options(runtime_env=env).remote() for _ in range(2)]
    infos = ray.get([a.info.remote() for a in actors], timeout=1800)
    out["first_s"] = time.monotonic() - started
    out["infos"] = infos + [ray.get(actors[0].info.remote(True), timeout=600)]
else:
    ray.get(plain.remote(), timeout=600)
    out["plain_s"] = time.monotonic() - started
    started = time.monotonic()
    out["prefix"] = ray.get(task.options(runtime_env=env).remote(), timeout=600)
    out["second_s"] = time.monotonic() - started
print(json.dumps(out))
'''


STARTS = '''
import json, os, statistics, sys, time
import ray
env = json.load(open("env.json"))
ray.init(address=sys.argv[1], log_to_driver=False)

@ray.remote(num_cpus=0, resources={"bare": 0.01})
class A:
    def pid(self):
        return os.getpid()

def start(runtime_env):
    started = time.monotonic()
    actor = A.options(runtime_env=runtime_env).remote()
    ray.get(actor.pid.remote(), timeout=600)
    ray.kill(actor)
    return time.monotonic() - started

start(env)  # the env is ready from here on
times = {"plain": [], "env": []}
for i in range(6):  # a distinct env_vars value: a new worker process every time
    times["plain"].append(start({"env_vars": {"N": str(i)}}))
    times["env"].append(start({**env, "env_vars": {**env.get("env_vars", {}), "N": str(i)}}))
print(json.dumps({k: statistics.median(v) for k, v in times.items()}))
'''


class Mechanism(TypedDict):
    """One way to give the bare node the lock: its runtime_env and where its env lands."""

    name: str
    env: dict[str, Any]
    field: str  # runtime_resources/<field> of Ray's own envs, or "builder"
    prepare: Callable[[], None]


class Result(TypedDict, total=False):
    name: str
    first_s: float
    first_plain_s: float  # two plain actors on the node, same driver, just before
    build_s: float  # the builder's own log (py_executable only)
    second_s: float
    plain_s: float
    builds: int
    disk_mb: float
    peak_mb: float
    error: str


def lock(work: Path) -> list[str]:
    """image-embed's CPU lock, hash-pinned, Ray's closure as constraints."""
    base = base_constraints(Target.current())
    (work / "constraints.txt").write_text(
        "".join(f"{n}=={v}\n" for n, v in base.items()) + "torch==2.13.0+cpu\n")
    (work / "requirements.in").write_text("\n".join(image_embed_requirements()) + "\n")
    run([uv(), "pip", "compile", "--quiet", "--no-config", "--generate-hashes", "--no-header",
         *sources().uv_args(), "--python-version", Target.current().minor,
         "--python-platform", Target.current().uv_platform, "-c", str(work / "constraints.txt"),
         str(work / "requirements.in"), "-o", str(work / "lock.txt")], env=installer_env())
    return requirement_lines((work / "lock.txt").read_text())


def baseline(lines: list[str], work: Path, cache: Path) -> Result:
    """``uv venv`` + ``uv pip install`` of the lock with the node's Python, ``cache`` as is."""
    venv, reqs = work / f"baseline-{time.monotonic_ns()}", work / "lock-lines.txt"
    reqs.write_text("\n".join(lines) + "\n")
    started = time.monotonic()
    run([uv(), "venv", "--quiet", "--python", str(bare_venv()), str(venv)])
    timed = run(["/usr/bin/time", "-f", "%M", *install_command(
        uv(), venv / "bin" / "python", str(cache), sources().pip_args(), reqs)],
        env=installer_env())  # the node build's own install
    seconds = time.monotonic() - started
    result = Result(first_s=seconds, disk_mb=_mb(venv),
                    peak_mb=int(timed.stderr.strip().splitlines()[-1]) / 1024)
    shutil.rmtree(venv)
    return result


def mechanisms(lines: list[str], work: Path) -> list[Mechanism]:
    """Every variant measured; ``prepare`` sets the node-side caches each one starts from."""
    uv_cache, builder_root = work / "ray-uv-cache", work / "node-envs"
    where = sources().pip_args()
    pip_opts = ["--disable-pip-version-check", "--no-cache-dir", *HASHED, "--only-binary",
                ":all:", *where]
    uv_opts = [*HASHED, "--no-build", "--index-strategy", "unsafe-best-match", *where]
    tool = NodeTool.find(Target.current(), sources())  # the pinned uv, as the planner finds it
    builder = {**node_env(lines, install_options=where, tool=tool),
               "env_vars": {"OPSHUB_NODE_ENV_DIR": str(builder_root)}}

    def clear(*paths: Path) -> Callable[[], None]:
        return lambda: [shutil.rmtree(p, ignore_errors=True) for p in paths] and None

    def drop_envs() -> None:  # keep the builder's uv tool and cache, drop its envs
        for env in builder_root.glob("*"):
            if env.name not in ("tools", "cache", "tools.lock", "builds.log"):
                shutil.rmtree(env) if env.is_dir() else env.unlink()

    return [
        Mechanism(name="Ray pip field (--no-cache-dir)", field="pip", prepare=clear(),
                  env={"pip": {"packages": lines, "pip_install_options": pip_opts}}),
        Mechanism(name="Ray uv field (--no-cache, Ray's default)", field="uv", prepare=clear(),
                  env={"uv": {"packages": lines,
                              "uv_pip_install_options": ["--no-cache", *uv_opts]}}),
        Mechanism(name="Ray uv field, persistent --cache-dir, cold", field="uv",
                  prepare=clear(uv_cache),
                  env={"uv": {"packages": lines, "uv_pip_install_options": [
                      "--cache-dir", str(uv_cache), *uv_opts]}}),
        Mechanism(name="Ray uv field, persistent --cache-dir, warm (hardlink)", field="uv",
                  prepare=clear(),
                  env={"uv": {"packages": lines, "uv_pip_install_options": [
                      "--cache-dir", str(uv_cache), "--link-mode", "hardlink", *uv_opts]}}),
        Mechanism(name="Ray uv field, persistent --cache-dir, warm (copy)", field="uv",
                  prepare=clear(),
                  env={"uv": {"packages": lines, "uv_pip_install_options": [
                      "--cache-dir", str(uv_cache), "--link-mode", "copy", *uv_opts]}}),
        Mechanism(name="py_executable + opshub builder, cold (no uv, no cache)",
                  field="builder", prepare=clear(builder_root), env=builder),
        Mechanism(name="py_executable + opshub builder, warm cache (env dropped)",
                  field="builder", prepare=drop_envs, env=builder),
        Mechanism(name="py_executable + opshub builder, env already on the node",
                  field="builder", prepare=lambda: None, env=builder),
    ]


def measure(mechanism: Mechanism, work: Path) -> Result:
    """First use (2 actors at once) and second use (new driver) in a fresh cluster session."""
    mechanism["prepare"]()
    folder = work / "drivers" / str(time.monotonic_ns())
    folder.mkdir(parents=True)
    (folder / "env.json").write_text(json.dumps(mechanism["env"]))
    since = time.time()
    cluster = start_cluster(bare_venv())
    try:
        first = _driver(cluster, folder, "first")
        second = _driver(cluster, folder, "second")
        builds, disk, peak, build_s = _builds(cluster, mechanism["field"], work, since)
    finally:
        cluster.stop()
    assert {i["torch"] for i in first["infos"]} == {"2.13.0+cpu"}, first
    prefixes = {i["prefix"] for i in first["infos"]} | {second["prefix"]}
    assert len(prefixes) == 1 and str(bare_venv().parent.parent) not in prefixes, prefixes
    return Result(name=mechanism["name"], first_s=first["first_s"],
                  first_plain_s=first["plain_s"], second_s=second["second_s"],
                  plain_s=second["plain_s"], builds=builds, disk_mb=disk, peak_mb=peak,
                  build_s=build_s)


def worker_starts(mechanism: Mechanism, work: Path) -> Result:
    """Median start of a new worker through a ready env against a plain one (same session)."""
    folder = work / "drivers" / f"starts-{time.monotonic_ns()}"
    folder.mkdir(parents=True)
    (folder / "env.json").write_text(json.dumps(mechanism["env"]))
    cluster = start_cluster(bare_venv())
    try:
        out = run_driver(cluster, STARTS, folder, ROOT)
    finally:
        cluster.stop()
    return Result(name=f"worker start, ready env: {mechanism['name']}", first_s=out["env"],
                  plain_s=out["plain"], second_s=out["env"])


def _driver(cluster: Cluster, folder: Path, which: str) -> dict[str, Any]:
    source = DRIVER.replace("sys.argv[2]", repr(which))
    return dict(run_driver(cluster, source, folder, ROOT))


def _builds(cluster: Cluster, field: str, work: Path,
            since: float) -> tuple[int, float, float, float]:
    """Builds made on the bare node this session, the env's disk, the build's peak and time."""
    if field == "builder":
        log = work / "node-envs" / "builds.log"
        entries = [json.loads(x) for x in log.read_text().splitlines()] if log.exists() else []
        mine = [e for e in entries if e["time"] > since]
        envs = [p for p in (work / "node-envs").iterdir() if (p / ".opshub-ready").exists()]
        peak = max((e["peak_kib"] for e in mine), default=0) / 1024
        seconds = sum(e["seconds"] for e in mine)
        return len(mine), _mb(envs[0]) if envs else 0.0, peak, seconds
    logs = cluster.temps[1] / "session_latest" / "logs"
    marker = "Installing python requirements to"
    count = sum(p.read_text(errors="replace").count(marker) for p in logs.glob("runtime_env*"))
    envs = list((cluster.temps[1] / "session_latest" / "runtime_resources" / field).glob("*"))
    return count, _mb(envs[0]) if envs else 0.0, 0.0, 0.0


def _mb(path: Path) -> float:
    out = subprocess.run(["du", "-sk", str(path)], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[0]) / 1024


def one_run(work: Path, only: set[str]) -> list[Result]:
    """The baselines, then each mechanism, in this order (caches warm up as listed)."""
    lines = lock(work)
    results = []
    cache = work / "baseline-cache"
    results.append(Result(name="baseline: uv pip install, cold cache",
                          **baseline(lines, work, cache)))
    results.append(Result(name="baseline: uv pip install, warm cache",
                          **baseline(lines, work, cache)))
    chosen = [m for m in mechanisms(lines, work)
              if not only or any(word in m["name"] for word in only)]
    for mechanism in chosen:
        print(f"[bench_node_env] {mechanism['name']} ...", file=sys.stderr, flush=True)
        try:
            results.append(measure(mechanism, work))
        except Exception as exc:  # noqa: BLE001 - one failing must not hide the others
            results.append(Result(name=mechanism["name"], error=str(exc)[-800:]))
    for mechanism in (chosen[0], chosen[-1]) if len(chosen) > 1 else chosen:
        results.append(worker_starts(mechanism, work))  # a Ray field's env, opshub's env
    return results


def table(runs: list[list[Result]]) -> str:
    """Markdown, medians over runs. "net" subtracts the same driver's plain reference (two
    plain actors, resp. one plain task, on the node): what the env itself costs."""
    lines = [("| mechanism | first use s | net s | net / cold baseline (spread) | "
              "net / warm baseline | second driver: added s | builds on the node | "
              "env disk MB | build peak MB |"), "|---|---|---|---|---|---|---|---|---|"]
    cold = [r[0]["first_s"] for r in runs]
    warm = [r[1]["first_s"] for r in runs]
    for i, first in enumerate(runs[0]):
        same = [(r[i], c, w) for r, c, w in zip(runs, cold, warm) if "error" not in r[i]]
        if not same:
            lines.append(f"| {first['name']} | error: {first.get('error', '')[:300]} |")
            continue
        net = [r["first_s"] - r.get("first_plain_s", 0.0) for r, _, _ in same]
        by_cold = [n / c for n, (_, c, _) in zip(net, same)]
        by_warm = [n / w for n, (_, _, w) in zip(net, same)]
        added = [r["second_s"] - r["plain_s"] for r, _, _ in same if "second_s" in r]
        results = [r for r, _, _ in same]
        lines.append(
            f"| {first['name']} | {_med(results, 'first_s'):.2f} | {statistics.median(net):.2f}"
            f" | {statistics.median(by_cold):.2f} ({min(by_cold):.2f}-{max(by_cold):.2f}) | "
            f"{statistics.median(by_warm):.2f} | "
            + (f"{statistics.median(added):+.2f} ({min(added):+.2f}..{max(added):+.2f}) | "
               if added else "- | ")
            + f"{_count(results)} | {_med(results, 'disk_mb'):.0f} | "
            f"{_med(results, 'peak_mb'):.0f} |")
    return "\n".join(lines)


def _med(results: list[Result], key: str) -> float:
    values = [float(r.get(key, 0.0)) for r in results]  # type: ignore[arg-type]
    return statistics.median(values) if values else 0.0


def _count(results: list[Result]) -> str:
    return "/".join(str(r["builds"]) for r in results if "builds" in r) or "-"


def run_section(quick: bool, network: bool) -> Section:
    """For benchmarks/run.py: one run, as a Section (ratios against the cold baseline)."""
    work = Path(tempfile.mkdtemp(prefix="ohne-", dir="/tmp"))
    try:
        results = one_run(work, set())
    finally:
        shutil.rmtree(work, ignore_errors=True)
    base = results[0]["first_s"]
    return Section(title="Node env: image-embed's CPU lock on a bare Ray node",
                   baseline=results[0]["name"], targets=[],
                   rows=[row(r["name"], _net(r), "s", base, _detail(r)) for r in results],
                   notes=["Mechanisms: first use net of a worker start (two actors at once "
                          "against two plain actors of the same driver just before), one run; "
                          "the README's table is `bench_node_env.py --runs 3` (medians). "
                          "Worker-start rows: a new worker through a ready env, plain start "
                          "in the note."])


def _net(result: Result) -> float:
    """First use minus the same driver's plain reference (0 for the baselines)."""
    return result.get("first_s", 0.0) - result.get("first_plain_s", 0.0)


def _detail(result: Result) -> str:
    if "error" in result:
        return result["error"]
    if "first_plain_s" in result:
        return (f"gross {result['first_s']:.2f} s; second driver adds "
                f"{result['second_s'] - result['plain_s']:+.2f} s; {result['builds']} "
                "build(s) on the node")
    return f"plain worker start {result['plain_s']:.2f} s" if "plain_s" in result else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--only", default="", help="comma-separated words of mechanism names")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    only = {w for w in args.only.split(",") if w}
    runs = []
    for _ in range(args.runs):
        work = Path(tempfile.mkdtemp(prefix="ohne-", dir="/tmp"))
        try:
            runs.append(one_run(work, only))
        finally:
            shutil.rmtree(work, ignore_errors=True)
        if args.json:
            args.json.write_text(json.dumps(runs, indent=1))
    print(table(runs))


if __name__ == "__main__":
    os.environ.pop("RAY_ADDRESS", None)
    main()
