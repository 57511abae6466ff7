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
section points the node's env root at a fresh folder.
"""

from __future__ import annotations

import os
import shutil
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
    work = Path(tempfile.mkdtemp(prefix="ohr-", dir="/tmp"))
    hub = start_hub_server(work / "hub")
    os.environ["OPSHUB_NODE_ENV_DIR"] = str(work / "node-envs")  # the node inherits it
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

        first, second = drive("first"), drive("second")
        spec = node_spec(first["env"])
        baseline = _uv_install(spec["requirements"], spec["install_options"], work)
    finally:
        cluster.stop()
        hub.stop()
        shutil.rmtree(work, ignore_errors=True)
    return _report(first, second, baseline)


def _uv_install(packages: list[str], options: list[str], work: Path) -> float:
    """Seconds of `uv pip install` of the lock into a fresh venv of the node's Python: the
    node build's own install command (hash-checked, no deps, wheels only), cold cache."""
    venv, lock = work / "fresh", work / "lock.txt"
    lock.write_text("\n".join(packages) + "\n")
    command([uv(), "venv", "-q", "--python", str(bare_venv()), str(venv)])
    started = time.perf_counter()
    command(install_command(uv(), venv / "bin" / "python", str(work / "uv-cache"), options,
                            lock), env=installer_env())
    return time.perf_counter() - started


def _report(first: dict[str, Any], second: dict[str, Any], baseline: float) -> Section:
    ratio = first["use_s"] / baseline
    return Section(
        title="Remote env: image-embed on a bare Ray node (driver: opshub only)",
        baseline="uv pip install of the lock, fresh venv",
        rows=[row("uv pip install of the lock, fresh venv", baseline, "s", baseline),
              row("first use: the node builds the env (net of a worker start)",
                  first["use_s"], "s", baseline),
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
               "Each use is a task in the env minus a plain task of the same driver on the "
               "same node that starts a new worker (env_vars of its own), so both pay one "
               "worker start; the second use is a new driver process. Ray's "
               "pip and uv fields: see the node-env section."])
