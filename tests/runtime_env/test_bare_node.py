"""THE integration tests: operators run on a node that has nothing but Ray.

One real cluster for the module: a head from .venv (1 CPU) and a second node from a venv
holding only ``ray[default]`` (resource ``bare``). Drivers run as their own processes from
an empty directory (ray#5235), with the test operators installed only on their side.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.cluster import (
    BARE_VENV,
    TEST_OPERATORS,
    Cluster,
    bare_venv,
    run_driver,
    start_cluster,
)
from uv import find_uv_bin

pytestmark = [pytest.mark.cluster, pytest.mark.slow]


@pytest.fixture(scope="module")
def bare_cluster() -> Iterator[Cluster]:
    """Started once for this module; every process it started is stopped by pid."""
    cluster = start_cluster(bare_venv())
    yield cluster
    cluster.stop()


DRIVER = '''
import json, sys, time
import ray
from hub import Operator, Registry
from runtime_env import stage_runtime_env

ray.init(address=sys.argv[1], log_to_driver=False)
spec = Registry.discover().get("render-row")
started = time.monotonic()
env = stage_runtime_env(spec)
planned = time.monotonic() - started

@ray.remote(num_cpus=1, resources={"bare": 1})
def run(op, items):
    import sys
    return [op(i) for i in items], sys.prefix

started = time.monotonic()
rows, prefix = ray.get(run.options(runtime_env=env).remote(Operator(spec), [[1, 2]]))
print(json.dumps({"env": env, "plan_s": planned, "setup_s": time.monotonic() - started,
                  "rows": rows, "prefix": prefix}))
'''


CONFLICT_DRIVER = '''
import json, sys
import ray
from hub import Operator, Registry
from runtime_env import stage_runtime_env

ray.init(address=sys.argv[1], log_to_driver=False)
registry = Registry.discover()

@ray.remote(num_cpus=1, resources={"bare": 1})
def run(op, item):
    return op(item)

specs = [registry.get(n) for n in ("toolz-version-a", "toolz-version-b")]
envs = [stage_runtime_env(s) for s in specs]
refs = [run.options(runtime_env=e).remote(Operator(s), i)
        for i, (s, e) in enumerate(zip(specs, envs))]
print(json.dumps({"results": ray.get(refs), "envs": envs}))
'''


def publish(server: Any, project: Path, out: Path) -> Path:
    subprocess.run([find_uv_bin(), "build", "-q", "--wheel", "-o", str(out), str(project)],
                   check=True)
    wheel = next(out.glob("*.whl"))
    subprocess.run([sys.executable, "-m", "twine", "upload", "--disable-progress-bar",
                    "--repository-url", server.url + "/legacy/", "-u", "__token__",
                    "-p", server.token, str(wheel)], check=True, capture_output=True)
    return wheel


@pytest.mark.server
def test_published_operator_runs_on_a_bare_node(
    bare_cluster: Cluster, hub_server: Any, test_ops_site: Path, tmp_path: Path
) -> None:
    publish(hub_server, TEST_OPERATORS / "dep", tmp_path / "dist")
    hub_env = {"HUB_URL": hub_server.url, "HUB_CACHE_DIR": str(tmp_path / "cache")}
    first = run_driver(bare_cluster, DRIVER, tmp_path / "driver", test_ops_site, hub_env)
    second = run_driver(bare_cluster, DRIVER, tmp_path / "driver", test_ops_site, hub_env)
    print(f"\nbare node env setup: first {first['setup_s']:.1f} s, "
          f"second (cached env) {second['setup_s']:.1f} s; "
          f"planning {first['plan_s']:.2f} s then {second['plan_s']:.2f} s")
    assert first["rows"] == [{"table": "-  -\n1  2\n-  -", "tabulate": "0.10.0"}]
    assert second["rows"] == first["rows"]
    # the same pip env (the expensive part); py_modules URIs follow edits to hub/ itself
    assert first["env"]["pip"] == second["env"]["pip"]
    pip = first["env"]["pip"]
    assert "opshub-test-dep==1.0.0" in pip["packages"]  # from the hub index
    assert hub_server.url + "/simple/" in pip["pip_install_options"]
    assert len(first["env"]["py_modules"]) == 2  # hub and runtime_env: the node lacks them
    assert not first["prefix"].startswith(str(BARE_VENV))  # ran in a Ray-built env
    assert second["setup_s"] < first["setup_s"]


def test_conflicting_operators_each_get_their_env(
    bare_cluster: Cluster, test_ops_site: Path, tmp_path: Path
) -> None:
    """toolz 0.12.1 and 1.0.0 in one job; unpublished, so each ships via py_modules."""
    out = run_driver(bare_cluster, CONFLICT_DRIVER, tmp_path / "driver", test_ops_site,
                     {"HUB_CACHE_DIR": str(tmp_path / "cache")})
    assert out["results"] == [[0, "0.12.1"], [1, "1.0.0"]]
    env_a, env_b = out["envs"]
    assert env_a["pip"]["packages"] != env_b["pip"]["packages"]
    assert any("opshub_test_conflict_a" in uri or uri.startswith("gcs://")
               for uri in env_a["py_modules"])
