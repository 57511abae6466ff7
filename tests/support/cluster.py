"""A real two-node Ray cluster on this machine: a head from .venv, a bare node from a venv
holding only ``ray[default]``. Processes are found by their own temp dirs and stopped by pid
(never a bare ``ray stop``, which would kill every Ray on the machine)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ray
from uv import find_uv_bin

from .markers import require
from .net import free_port, port_open

BARE_VENV = Path(tempfile.gettempdir()) / f"opshub-bare-ray-{ray.__version__}-pip"
OBJECT_STORE = f"--object-store-memory={512 * 1024**2}"  # per node; the machine is shared


def bare_venv() -> Path:
    """A venv with only ``ray[default]`` at the driver's Ray version (created once, kept)."""
    python = BARE_VENV / "bin" / "python"
    if python.exists():
        return python
    tmp = BARE_VENV.with_name(BARE_VENV.name + f".{os.getpid()}.tmp")
    uv = find_uv_bin()
    # --seed: Ray builds pip envs by cloning the node's venv and running its pip
    subprocess.run([uv, "venv", "-q", "--seed", "--python", sys._base_executable, str(tmp)],
                   check=True)
    subprocess.run([uv, "pip", "install", "-q", "--python", str(tmp / "bin" / "python"),
                    f"ray[default]=={ray.__version__}"], check=True)
    if not python.exists():
        os.replace(tmp, BARE_VENV)  # venvs are relocatable enough for `python -m ray...`
    return python


@dataclass
class Cluster:
    """Addresses, temp dirs and the `ray start --block` processes of one test cluster."""

    address: str
    temps: list[Path]
    starters: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        return {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_ADDRESS": self.address}

    def pids(self) -> set[int]:
        """Every process whose command line names one of our temp dirs, plus the starters."""
        found = {p.pid for p in self.starters}
        for proc in Path("/proc").iterdir():
            if proc.name.isdigit() and _mentions(proc, self.temps):
                found.add(int(proc.name))
        return found - {os.getpid()}

    def stop(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in self.pids():
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            if _wait_gone(self, 10):
                break
        for starter in self.starters:
            starter.wait()
        for temp in self.temps:
            shutil.rmtree(temp, ignore_errors=True)
            temp.with_suffix(".log").unlink(missing_ok=True)


def _mentions(proc: Path, temps: list[Path]) -> bool:
    try:
        cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False
    return any(str(t) in cmdline for t in temps)


def _wait_gone(cluster: Cluster, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not cluster.pids() - {p.pid for p in cluster.starters if p.poll() is not None}:
            return True
        time.sleep(0.2)
    return False


def start_cluster(bare_python: Path, node_env: Mapping[str, str] | None = None) -> Cluster:
    """Head (this venv, 1 CPU) plus a bare node (resource ``bare``), token auth disabled.

    ``node_env``: variables for the bare node's `ray start` only (its workers and the envs
    they build see them), e.g. an index that is down and HUB_OFFLINE for an air-gapped node.
    """
    require("cluster", "starts a two-node Ray cluster")
    port = free_port()
    temps = [Path(tempfile.mkdtemp(prefix="oh-", dir="/tmp")) for _ in range(2)]
    cluster = Cluster(f"127.0.0.1:{port}", temps)
    env = {**os.environ, "RAY_AUTH_MODE": "disabled"}
    env.pop("RAY_ADDRESS", None)
    head = [sys.executable, "-m", "ray.scripts.scripts", "start", "--head", "--block",
            "--node-ip-address=127.0.0.1", f"--port={port}", "--num-cpus=1", OBJECT_STORE,
            "--include-dashboard=false", f"--temp-dir={temps[0]}"]
    node = [str(bare_python), "-m", "ray.scripts.scripts", "start", "--block",
            f"--address={cluster.address}", "--num-cpus=1", "--node-ip-address=127.0.0.1",
            OBJECT_STORE,
            "--resources=" + json.dumps({"bare": 1}), f"--temp-dir={temps[1]}"]
    try:
        cluster.starters.append(_spawn(head, env, temps[0]))
        _wait_nodes(cluster, 1)  # the node needs the head's GCS
        cluster.starters.append(_spawn(node, {**env, **(node_env or {})}, temps[1]))
        _wait_nodes(cluster, 2)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _spawn(cmd: list[str], env: dict[str, str], temp: Path) -> subprocess.Popen[bytes]:
    log = open(temp.with_suffix(".log"), "wb")  # noqa: SIM115 - closed by the child's exit
    return subprocess.Popen(cmd, env=env, cwd=temp, stdout=log, stderr=subprocess.STDOUT)


_WAIT_NODES = """
import sys, time, ray
ray.init()
deadline = time.monotonic() + float(sys.argv[2])
while sum(n["Alive"] for n in ray.nodes()) < int(sys.argv[1]):
    if time.monotonic() > deadline:
        sys.exit("timed out")
    time.sleep(0.5)
"""


def _wait_nodes(cluster: Cluster, count: int, seconds: float = 120) -> None:
    """Wait for the head's port, then (one driver process) for ``count`` alive nodes."""
    host, port = cluster.address.split(":")
    deadline = time.monotonic() + seconds
    while not port_open(host, int(port)):
        if any(p.poll() is not None for p in cluster.starters) or time.monotonic() > deadline:
            raise RuntimeError(f"the Ray head did not start; see {cluster.temps[0]}.log")
        time.sleep(0.3)
    out = subprocess.run([sys.executable, "-c", _WAIT_NODES, str(count), str(seconds)],
                         env=cluster.env(), capture_output=True, text=True, check=False,
                         cwd=cluster.temps[0])
    if out.returncode != 0:
        raise RuntimeError(f"the cluster did not reach {count} nodes: {out.stderr[-500:]}")


def run_driver(cluster: Cluster, source: str, workdir: Path, site: Path | None,
               extra_env: dict[str, str] | None = None, *, python: Path | str = sys.executable,
               args: tuple[str, ...] = (), timeout: float = 400) -> Any:
    """Run ``source`` as a driver script from ``workdir`` (which holds nothing else).

    The script gets the cluster address as argv[1] (then ``args``) and prints JSON as its
    last line. A separate process keeps it off the test session's own Ray (and ray#5235
    honest); ``python`` may be another venv's (a driver that has only opshub), ``site``
    None for no extra PYTHONPATH.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "driver.py").write_text(source)
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", **(extra_env or {})}
    env.pop("PYTHONPATH", None)
    if site is not None:
        env["PYTHONPATH"] = str(site)
    env.pop("RAY_ADDRESS", None)
    out = subprocess.run([str(python), "driver.py", cluster.address, *args], cwd=workdir,
                         env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])
