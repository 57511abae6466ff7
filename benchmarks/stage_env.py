"""What building no env saves: a stage's cold start on a local Ray started from this venv.

    .venv/bin/python benchmarks/stage_env.py

`none`: stage_runtime_env returned None (the cluster already has the lock), so tasks run
in the node's own env; `pip env`: the same lock as a Ray pip env, which Ray builds by
copying this whole venv (torch included) before the first task; `pip env again`: a second
task with the same env (reused). The pinned package is one the venv already has, so the
difference is pure env overhead.
"""

from __future__ import annotations

import shutil
import tempfile
import time

import ray

from runtime_env._requirements import installed_version


@ray.remote(num_cpus=1)
def probe() -> str:
    import six

    return str(six.__version__)


def first_call(env: dict | None) -> float:
    start = time.perf_counter()
    ray.get(probe.options(runtime_env=env).remote())
    return time.perf_counter() - start


def main() -> None:
    temp = tempfile.mkdtemp(prefix="oh-bench-", dir="/tmp")
    env = {"pip": {"packages": [f"six=={installed_version('six')}"], "pip_check": False,
                   "pip_install_options": ["--disable-pip-version-check", "--no-cache-dir",
                                           "--no-deps"]}}
    try:
        ray.init(num_cpus=1, include_dashboard=False,
                 _node_ip_address="127.0.0.1", _temp_dir=temp, log_to_driver=False)
        print(f"none (no env):      {first_call(None):6.2f} s")
        print(f"pip env, cold:      {first_call(env):6.2f} s")
        print(f"pip env, reused:    {first_call(env):6.2f} s")
    finally:
        ray.shutdown()
        shutil.rmtree(temp, ignore_errors=True)


if __name__ == "__main__":
    main()
