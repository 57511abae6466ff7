"""Section 6: first use of an operator's env on a bare Ray node, and the cached second use.

Reuses the tests' two-node machinery (tests/support/cluster.py): a head from
this venv and a node from a venv holding only ``ray[default]``. Two driver processes in a
row run image-decode on the bare node with ``stage_runtime_env(spec)``: the first plans
the lock (a resolver run) and has Ray build the pip env; the second finds both cached.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from _common import ROOT, Section, first_party_site, row

sys.path.insert(0, str(ROOT / "tests"))
from support.cluster import bare_venv, run_driver, start_cluster  # noqa: E402

DRIVER = '''
import io, json, sys, time
import ray
from PIL import Image
from hub import Operator, Registry
from runtime_env import stage_runtime_env

ray.init(address=sys.argv[1], log_to_driver=False)
spec = Registry.discover().get("image-decode")
started = time.monotonic()
env = stage_runtime_env(spec)
planned = time.monotonic() - started

@ray.remote(num_cpus=1, resources={"bare": 1})
def run(op, data):
    return op(data).shape

png = io.BytesIO()
Image.new("RGB", (8, 4)).save(png, format="PNG")
started = time.monotonic()
shape = ray.get(run.options(runtime_env=env).remote(Operator(spec), png.getvalue()))
print(json.dumps({"plan_s": planned, "setup_s": time.monotonic() - started,
                  "shape": list(shape), "env": sorted(env or {})}))
'''


def run(quick: bool, network: bool) -> Section:
    site, work = first_party_site(), Path(tempfile.mkdtemp(prefix="ohr-", dir="/tmp"))
    cluster = start_cluster(bare_venv())
    try:
        extra = {"HUB_CACHE_DIR": str(work / "cache"), "HUB_URL": "http://127.0.0.1:9"}
        first, second = (run_driver(cluster, DRIVER, work / f"driver-{i}", site, extra)
                         for i in range(2))
    finally:
        cluster.stop()
        shutil.rmtree(work, ignore_errors=True)
    assert first["shape"] == second["shape"] == [4, 8, 3], (first, second)
    base = first["setup_s"]
    return Section(
        title="Remote env: image-decode on a bare Ray node (only ray[default] installed)",
        baseline="first use, env setup", targets=[],
        rows=[row("first use: Ray builds the env, then runs the task", base, "s", base),
              row("second use (new driver): env cached on the node", second["setup_s"], "s",
                  base),
              row("planning the env, first use (lock resolved)", first["plan_s"], "s", base),
              row("planning the env, second use (lock cached)", second["plan_s"], "s", base)],
        notes=[f"runtime_env keys: {', '.join(first['env'])}; no hub running (py_modules "
               "ships the operator), pillow and numpy from PyPI.",
               "Planning = stage_runtime_env(spec): the lock (a resolver run, then a cache hit), "
               "a probe task on every node (which starts a worker there) and the py_modules "
               "upload; the probe and upload are why the cached plan still takes seconds."])
