"""THE air-gap test (issue #14): image-decode then image-embed on a bare node whose only
index is the hub, from wheels the hub mirrored.

One cluster for the module: a head from .venv and a bare node (only ``ray[default]``)
whose `ray start` sees pip and uv pointed at a dead local port (support.airgap), the
per-cluster ``HUB_OFFLINE=1`` and a node-env folder of its own (no env another test
built). Drivers come from the opshub-only venv with the same dead configuration and no
HUB_OFFLINE: the cluster's setting reaches them through the survey, and HUB_WORKER_URL
names a recording proxy of the hub, so the test sees what the node fetched from it. Two
hubs serve the operators: one mirrored them (their third-party wheels once from PyPI,
torch 2.13.0+cpu from /opt/wheels, plus opshub's runtime and the pinned uv), the other
did not.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.airgap import dead_index_env
from support.cluster import Cluster, bare_venv, run_driver, start_cluster
from support.driver_venv import driver_venv
from support.drivers import IMAGES, nearest_are_originals, write_pictures
from support.envs import node_spec
from support.hub_server import HubServer, start_hub_server
from support.proxy import recording_proxy
from support.wheelhouse import Wheelhouse

# network: `hub mirror` on the connected side copies the wheels from PyPI
pytestmark = [pytest.mark.cluster, pytest.mark.server, pytest.mark.slow, pytest.mark.network]

OPERATORS = ("image-decode", "image-embed")


@pytest.fixture(scope="module")
def offline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return dead_index_env(tmp_path_factory.mktemp("dead-index"))


@pytest.fixture(scope="module")
def node_envs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("node-envs")


@pytest.fixture(scope="module")
def cluster(offline: dict[str, str], node_envs: Path) -> Iterator[Cluster]:
    started = start_cluster(bare_venv(), {**offline, "HUB_OFFLINE": "1",
                                          "OPSHUB_NODE_ENV_DIR": str(node_envs)})
    yield started
    started.stop()


@pytest.fixture(scope="module")
def wheels(wheelhouse: Wheelhouse) -> list[Path]:
    return [wheelhouse[name] for name in OPERATORS]


def _hub(folder: Path, wheels: list[Path]) -> HubServer:
    server = start_hub_server(folder / "storage")
    subprocess.run([sys.executable, "-m", "hub", "publish", *map(str, wheels)], check=True,
                   capture_output=True, env={**os.environ, "HUB_URL": server.url,
                                             "HUB_TOKEN": server.token})
    return server


@pytest.fixture(scope="module")
def plain_hub(tmp_path_factory: pytest.TempPathFactory, wheels: list[Path]
              ) -> Iterator[HubServer]:
    server = _hub(tmp_path_factory.mktemp("plain-hub"), wheels)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def mirrored(tmp_path_factory: pytest.TempPathFactory, wheels: list[Path]
             ) -> Iterator[tuple[HubServer, str]]:
    """A hub that mirrored both operators on the connected side (this machine as it is:
    PyPI and /opt/wheels), with the opshub the air-gapped drivers use."""
    folder = tmp_path_factory.mktemp("mirrored-hub")
    server = _hub(folder, wheels)
    env = {**os.environ, "HUB_URL": server.url, "HUB_TOKEN": server.token,
           "HUB_FIND_LINKS": "/opt/wheels", "HUB_CACHE_DIR": str(folder / "cache"),
           "HUB_CONFIG": str(folder / "none")}
    done = subprocess.run([str(driver_venv()), "-m", "hub", "mirror", *OPERATORS],
                          capture_output=True, text=True, env=env, cwd=folder, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    yield server, done.stdout.strip()
    server.stop()


@pytest.fixture(scope="module")
def pictures(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_pictures(tmp_path_factory.mktemp("pictures"))


def _settings(hub: HubServer, offline: dict[str, str], cache: Path) -> dict[str, str]:
    """An air-gapped driver: pip and uv dead, only HUB_URL set (no HUB_OFFLINE)."""
    return {**offline, "HUB_URL": hub.url, "HUB_CACHE_DIR": str(cache),
            "HUB_CONFIG": str(cache / "none")}


def test_without_the_mirror_the_first_stage_fails_before_any_ray_work_in_one_line(
        cluster: Cluster, plain_hub: HubServer, offline: dict[str, str], node_envs: Path,
        pictures: Path, tmp_path: Path) -> None:
    (tmp_path / "driver").mkdir()
    (tmp_path / "driver" / "driver.py").write_text(IMAGES)
    before = sorted(node_envs.rglob("*"))
    env = {**os.environ, "RAY_AUTH_MODE": "disabled",
           **_settings(plain_hub, offline, tmp_path / "cache")}
    env.pop("PYTHONPATH", None)
    done = subprocess.run([str(driver_venv()), "driver.py", cluster.address, str(pictures)],
                          cwd=tmp_path / "driver", env=env, capture_output=True, text=True,
                          timeout=600, check=False)
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]  # image-decode needs pillow and numpy
    assert re.match(r"runtime_env\._errors\.NotMirrored: offline: (pillow|numpy) is not mirrored "
                    f"on the hub at {re.escape(plain_hub.url)} for Python 3\\.", last), last
    assert "linux/x86_64, cpu" in last and "`hub mirror image-decode --python 3." in last
    assert sorted(node_envs.rglob("*")) == before  # no env was built: nothing ran there


def test_image_decode_then_embed_on_the_air_gapped_node_from_the_hubs_mirror(
        cluster: Cluster, mirrored: tuple[HubServer, str], offline: dict[str, str],
        node_envs: Path, pictures: Path, tmp_path: Path) -> None:
    hub, summary = mirrored
    assert summary.startswith("mirrored ") and "image-decode, image-embed on 1 target" in summary
    with recording_proxy(hub.url) as seen:  # the nodes reach the hub through it only
        settings = {**_settings(hub, offline, tmp_path / "cache"), "HUB_WORKER_URL": seen.url}
        out: dict[str, Any] = run_driver(cluster, IMAGES, tmp_path / "first", None, settings,
                                         python=driver_venv(), args=(str(pictures),),
                                         timeout=900)
    node = out["node"]
    assert node["torch"] == "2.13.0+cpu"
    assert not [n for n in node["names"] if n.startswith(("nvidia-", "cuda-"))]
    assert node["prefix"].startswith(str(node_envs))  # built on the node, from the hub
    assert out["driver_imported"] == []
    assert nearest_are_originals(out["files"], out["vectors"])

    spec = node_spec(out["env"])  # the hub is the node's only index; every pin hashed
    assert spec["install_options"] == ["--index-url", f"{seen.url}/mirror/simple/"]
    assert all("--hash=sha256:" in line for line in spec["requirements"])
    assert spec["tool"]["url"].startswith(f"{seen.url}/mirror/files/uv/uv-0.13.9-")
    assert any(line.startswith(f"image-embed @ {seen.url}/files/") for line in
               spec["requirements"])
    builds = [json.loads(line) for line in (node_envs / "builds.log").read_text().splitlines()]
    assert builds and all(b["ok"] for b in builds)
    assert (node_envs / "tools" / "uv-0.13.9" / "bin" / "uv").exists()
    fetched = [r for r in seen.requests if r.startswith("GET /mirror/files/")]
    assert any(r.startswith("GET /mirror/files/uv/uv-0.13.9-") for r in fetched), fetched
    assert any(r.startswith("GET /mirror/files/torch/torch-2.13.0") for r in fetched)
