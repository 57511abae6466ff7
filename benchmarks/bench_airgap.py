"""Section: image-embed's first use on a bare node from the hub's mirror, against from
PyPI and find-links (issue #14, "Done when").

Side by side in one run, each on a fresh two-node cluster (tests/support/cluster.py: a
head from this venv, a node holding only ``ray[default]``) whose bare node has an env
folder and uv cache of its own, so each use is a first use:

- connected: the node installs the lock from PyPI, torch 2.13.0+cpu from /opt/wheels
  (find-links), as the remote-env section does;
- air-gapped: the node's pip and uv point at a dead port and it was started with
  ``HUB_OFFLINE=1``; it installs everything from the hub's mirror, filled once before by
  `hub mirror image-embed` (timed too: that is the connected side's cost).

Measured as remote-env measures it: a task in the stage's env minus a plain task of the
same driver on that node (a worker start), from a driver venv holding only opshub.
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
from _common import OPERATORS, ROOT, Section, row, target
from _common import run as command
from bench_remote_env import DRIVER  # the same measurement, side by side

sys.path.insert(0, str(ROOT / "tests"))
from support.airgap import dead_index_env
from support.cluster import bare_venv, run_driver, start_cluster
from support.driver_venv import driver_venv
from support.envs import node_spec
from support.hub_server import HubServer, start_hub_server
from support.wheelhouse import build_project

# One sample of each: a first use needs a fresh cluster and installs torch (seconds here, but
# minutes on a slow link), and run.py gives the whole section SECTION_TIMEOUTS["airgap"] =
# 3000 s for the mirror and both.
FIRST_USE_TIMEOUT_S = 1200


def run(quick: bool, network: bool) -> Section:
    work = Path(tempfile.mkdtemp(prefix="oha-", dir="/tmp"))
    hub = start_hub_server(work / "hub")
    try:
        wheel = build_project(OPERATORS / "image-embed", work / "wheels")
        env = {"HUB_URL": hub.url, "HUB_TOKEN": hub.token}
        command([sys.executable, "-m", "hub", "publish", str(wheel)], {**_base(), **env})
        mirror_s, summary = _mirror(hub, work)
        online = _first_use(hub, work / "online", {})
        offline = _first_use(hub, work / "offline", dead_index_env(work / "dead"))
    finally:
        hub.stop()
        shutil.rmtree(work, ignore_errors=True)
    return _report(online, offline, mirror_s, summary)


def _base() -> dict[str, str]:
    return dict(os.environ)


def _mirror(hub: HubServer, work: Path) -> tuple[float, str]:
    """`hub mirror image-embed` on the connected side, with the opshub the drivers use."""
    env = {**_base(), "HUB_URL": hub.url, "HUB_TOKEN": hub.token,
           "HUB_FIND_LINKS": "/opt/wheels", "HUB_CACHE_DIR": str(work / "mirror-cache"),
           "HUB_CONFIG": str(work / "none")}
    started = time.perf_counter()
    done = command([str(driver_venv()), "-m", "hub", "mirror", "image-embed"], env, cwd=work)
    return time.perf_counter() - started, done.stdout.strip()


def _first_use(hub: HubServer, folder: Path, dead: dict[str, str]) -> dict[str, Any]:
    """The env's first use on a fresh cluster's bare node (``dead``: air-gapped)."""
    node = {"OPSHUB_NODE_ENV_DIR": str(folder / "node-envs"),
            **({**dead, "HUB_OFFLINE": "1"} if dead else {})}
    cluster = start_cluster(bare_venv(), node)
    try:
        settings = {**dead, "HUB_URL": hub.url, "HUB_CACHE_DIR": str(folder / "cache"),
                    "HUB_CONFIG": str(folder / "none")}
        return dict(run_driver(cluster, DRIVER, folder / "driver", None, settings,
                               python=driver_venv(), timeout=FIRST_USE_TIMEOUT_S))
    finally:
        cluster.stop()


def _report(online: dict[str, Any], offline: dict[str, Any], mirror_s: float, summary: str
            ) -> Section:
    base = online["use_s"]
    ratio = offline["use_s"] / base
    options = node_spec(offline["env"])["install_options"]
    return Section(
        title="Air gap: image-embed's first use on a bare node, from the hub's mirror",
        baseline="first use from PyPI and /opt/wheels (find-links)",
        rows=[row("first use from PyPI and /opt/wheels (find-links)", base, "s", base),
              row("first use from the hub's mirror only (pip/uv dead, HUB_OFFLINE)",
                  offline["use_s"], "s", base),
              row("a worker start on the bare node, no env", offline["plain_s"], "s", base),
              row("`hub mirror image-embed` once, on the connected side", mirror_s, "s",
                  None)],
        targets=[target(goals.AIRGAP_FIRST_USE, f"{ratio:.2f}x", ratio <= 1.2)],
        notes=[f"torch on the node: {online['torch']} (connected), {offline['torch']} "
               f"(air-gapped); the air-gapped node's install options: {' '.join(options)}.",
               f"The mirror run: {summary}",
               "Each first use is on a fresh cluster whose bare node has an empty env folder "
               "and uv cache; net of a worker start (a plain task of the same driver on a new "
               "worker). One sample of each (each needs a fresh cluster), so the ratio carries "
               "this machine's noise."])
