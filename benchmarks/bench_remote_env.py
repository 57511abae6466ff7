"""Section 6: image-embed's env on a bare Ray node (issue #10 item 3, "Done when").

Reuses the tests' machinery: a two-node cluster (tests/support/cluster.py: a head from
this venv, a node from a venv holding only ``ray[default]``), a real `hub serve` with
image-embed published, and drivers from a venv holding only opshub
(tests/support/driver_venv.py). Measured side by side, on the bare node:

- first use: a task asking for image-embed's env as the planner emits it (the node env of
  ``runtime_env._node_env``), built on the node; then a second driver using the same env;
- the baseline: ``uv pip install`` of the same hash-pinned lock into a fresh venv made
  from the node's Python (cold uv cache).

Ray's ``pip`` and ``uv`` fields against that mechanism, over the same lock, are the
``node-env`` section (``bench_node_env.py``). The node env persists on the node across
cluster sessions, so "first use" is first only on a node that never built that lock: the
section points the node's env root at its own folder and empties it (env, uv cache and
node tool) before each first use. First uses and baselines alternate, ``REPEAT`` of each,
and the medians are compared: one sample of a few seconds swings by 2x on a shared machine.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _goals as goals
from _common import OPERATORS, ROOT, Section, row, target, uv
from _common import run as command

sys.path.insert(0, str(ROOT / "tests"))
from support.cluster import bare_venv, run_driver, start_cluster
from support.driver_venv import driver_venv
from support.envs import node_spec
from support.hub_server import start_hub_server

from runtime_env import installer_env
from runtime_env._node_builder import install_command

FIRST_USE, SECOND_USE = goals.REMOTE_FIRST_USE, goals.REMOTE_SECOND_USE
REPEAT = 3  # first uses and baselines, alternating

DRIVER = '''
import json, sys, time
import ray
from hub import ops
from runtime_env import stage_runtime_env

ray.init(address=sys.argv[1], log_to_driver=False)
spec = ops.image_embed().spec
started = time.monotonic()
env = stage_runtime_env(spec, ray_options={"num_cpus": 0.5, "resources": {"bare": 1}})
planned = time.monotonic() - started

@ray.remote(num_cpus=0.5, resources={"bare": 1})
def noop():
    return 0

@ray.remote(num_cpus=0.5, resources={"bare": 1})
def torch_version():
    import opshub_image_embed.model, torch
    return str(torch.__version__)

def timed(remote):
    started = time.monotonic()
    ray.get(remote.remote())
    return time.monotonic() - started

# a worker start, no env: env_vars of its own make Ray start a new worker for it, as the
# env's task must (a plain noop could land on an idle worker and cost nothing)
plain = timed(noop.options(runtime_env={"env_vars": {"OPSHUB_BENCH_RUN": str(time.time())}}))
in_env = timed(noop.options(runtime_env=env))        # the same in the env (built if new)
version = ray.get(torch_version.options(runtime_env=env).remote())
print(json.dumps({"plan_s": planned, "plain_s": plain, "env_s": in_env,
                  "use_s": in_env - plain, "torch": version, "env": env}))
'''


def run(quick: bool, network: bool) -> Section:
    repeat = 1 if quick else REPEAT
    work = Path(tempfile.mkdtemp(prefix="ohr-", dir="/tmp"))
    hub = start_hub_server(work / "hub")
    node_envs = work / "node-envs"
    os.environ["OPSHUB_NODE_ENV_DIR"] = str(node_envs)  # the node inherits it
    cluster = start_cluster(bare_venv())
    try:
        env = {**os.environ, "HUB_URL": hub.url, "HUB_TOKEN": hub.token}
        command([sys.executable, "-m", "hub", "publish", str(OPERATORS / "image-embed")], env)
        settings = {"HUB_URL": hub.url, "HUB_CACHE_DIR": str(work / "cache"),
                    "HUB_CONFIG": str(work / "none")}
        python = driver_venv()

        def drive(name: str) -> dict[str, Any]:
            return run_driver(cluster, DRIVER, work / name, None, settings, python=python,
                              timeout=1200)

        firsts: list[dict[str, Any]] = []
        baselines: list[float] = []
        for i in range(repeat):
            shutil.rmtree(node_envs, ignore_errors=True)  # a node that never built it
            firsts.append(drive(f"first-{i}"))
            spec = node_spec(firsts[-1]["env"])
            baselines.append(_uv_install(spec["requirements"], spec["install_options"],
                                         work / f"baseline-{i}"))
        second = drive("second")
    finally:
        cluster.stop()
        hub.stop()
        shutil.rmtree(work, ignore_errors=True)
    return _report(firsts, second, baselines)


def _uv_install(packages: list[str], options: list[str], work: Path) -> float:
    """Seconds of `uv pip install` of the lock into a fresh venv of the node's Python: the
    node build's own install command (hash-checked, no deps, wheels only), cold cache."""
    venv, lock = work / "fresh", work / "lock.txt"
    work.mkdir(parents=True)
    lock.write_text("\n".join(packages) + "\n")
    command([uv(), "venv", "-q", "--python", str(bare_venv()), str(venv)])
    started = time.perf_counter()
    command(install_command(uv(), venv / "bin" / "python", str(work / "uv-cache"), options,
                            lock), env=installer_env())
    return time.perf_counter() - started


def _report(firsts: list[dict[str, Any]], second: dict[str, Any], baselines: list[float]
            ) -> Section:
    first = firsts[0]
    uses = [f["use_s"] for f in firsts]
    use, baseline = statistics.median(uses), statistics.median(baselines)
    ratio = use / baseline
    samples = f"median of {len(uses)}"
    return Section(
        title="Remote env: image-embed on a bare Ray node (driver: opshub only)",
        baseline="uv pip install of the lock, fresh venv",
        rows=[row("uv pip install of the lock, fresh venv", baseline, "s", baseline, samples),
              row("first use: the node builds the env (net of a worker start)", use, "s",
                  baseline, samples),
              row("second use, a new driver (net of a worker start)", second["use_s"], "s",
                  baseline),
              row("a worker start on the bare node, no env", second["plain_s"], "s", baseline),
              row("planning, first driver (survey + lock)", first["plan_s"], "s", baseline),
              row("planning, second driver (both cached)", second["plan_s"], "s", baseline)],
        targets=[target(FIRST_USE, f"{ratio:.2f}x", ratio <= 1.5),
                 target(SECOND_USE, f"{second['use_s']:.2f} s", second["use_s"] <= 1.0)],
        notes=[f"torch on the node: {first['torch']}; "
               f"{len(node_spec(first['env'])['requirements'])} hash-pinned lines (the "
               "operator's wheel by URL and sha256).",
               "Samples, alternating: first uses "
               + ", ".join(f"{u:.2f}" for u in uses) + " s; baselines "
               + ", ".join(f"{b:.2f}" for b in baselines) + " s.",
               "Each use is a task in the env minus a plain task of the same driver on the "
               "same node that starts a new worker (env_vars of its own), so both pay one "
               "worker start; the second use is a new driver process. Ray's "
               "pip and uv fields: see the node-env section."])
