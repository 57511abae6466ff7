"""THE integration tests (issue #10): operators from a hub run on a node that has nothing
but Ray, from a driver that has nothing but opshub.

The session's one real cluster (``bare_node_cluster``): a head from .venv (1 CPU) and a
node from a venv holding only ``ray[default]`` (1 CPU, resource ``bare``). A real `hub serve` serves the
first-party and test operators. Drivers are processes of a venv holding only opshub
(support.driver_venv), started from an empty directory; they install nothing and
import none of the operators' code.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from support.cluster import BARE_VENV, Cluster, run_driver
from support.driver_venv import driver_venv
from support.drivers import IMAGES, nearest_are_originals, write_pictures
from support.envs import node_spec
from support.hub_server import HubServer, start_hub_server
from support.index import Index, serve_index
from support.wheelhouse import Wheelhouse

# network: the bare node builds its envs from PyPI (what `import hub` and the operators need)
pytestmark = [pytest.mark.cluster, pytest.mark.server, pytest.mark.slow, pytest.mark.network]

PUBLISHED = ("image-decode", "image-embed", "conflict-a", "conflict-b", "dep")


@pytest.fixture
def cluster(bare_node_cluster: Cluster) -> Cluster:
    """The session's two-node cluster (tests/conftest.py)."""
    return bare_node_cluster


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Wheelhouse
        ) -> Iterator[HubServer]:
    server = start_hub_server(tmp_path_factory.mktemp("hub") / "storage")
    env = {**os.environ, "HUB_URL": server.url, "HUB_TOKEN": server.token}
    subprocess.run([sys.executable, "-m", "hub", "publish",
                    *(str(wheelhouse[name]) for name in PUBLISHED)], check=True,
                   capture_output=True, env=env)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory, hub: HubServer) -> dict[str, Any]:
    """The driver venv, its settings, and pictures with resized copies on disk."""
    pictures = write_pictures(tmp_path_factory.mktemp("pictures"))
    cache = tmp_path_factory.mktemp("driver-cache")
    env = {"HUB_URL": hub.url, "HUB_CACHE_DIR": str(cache), "HUB_CONFIG": str(cache / "none")}
    return {"python": driver_venv(), "pictures": pictures, "env": env}


def drive(cluster: Cluster, work: dict[str, Any], source: str, folder: Path,
          extra: dict[str, str] | None = None, *args: str) -> Any:
    return run_driver(cluster, source, folder, None, {**work["env"], **(extra or {})},
                      python=work["python"], args=args, timeout=900)




def test_image_decode_then_embed_on_the_bare_node_from_an_opshub_only_driver(
        cluster: Cluster, work: dict[str, Any], hub: HubServer, tmp_path: Path) -> None:
    listed = subprocess.run([str(work["python"]), "-m", "pip", "list", "--format=json"],
                            capture_output=True, text=True, check=True).stdout
    driver_has = {p["name"].lower() for p in json.loads(listed)}
    assert "opshub" in driver_has
    assert not driver_has & {"torch", "pillow", "image-decode", "image-embed"}

    first = drive(cluster, work, IMAGES, tmp_path / "first", None, str(work["pictures"]))
    node = first["node"]
    assert node["torch"] == "2.13.0+cpu"
    assert not [n for n in node["names"] if n.startswith(("nvidia-", "cuda-"))]
    assert not node["prefix"].startswith(str(BARE_VENV))  # an env Ray built on the node
    assert first["driver_imported"] == []

    # the operator's wheel came from the hub by URL and sha256; PIP_FIND_LINKS reached it
    wheel = json.loads(hub_api(hub, "image-embed"))["versions"][0]["files"][0]
    spec = node_spec(first["env"])
    assert f"image-embed @ {wheel['url']} --hash=sha256:{wheel['sha256']}" in \
        spec["requirements"]
    assert all("--hash=sha256:" in line for line in spec["requirements"])
    if os.environ.get("PIP_FIND_LINKS"):
        assert os.environ["PIP_FIND_LINKS"].split()[0] in spec["install_options"]

    assert nearest_are_originals(first["files"], first["vectors"])  # resized copies

    second = drive(cluster, work, IMAGES, tmp_path / "second", None, str(work["pictures"]))
    assert second["node"]["prefix"] == node["prefix"]
    assert second["node"]["created"] == node["created"]  # the same env, not rebuilt
    assert second["env"] == first["env"]
    assert np.allclose(second["vectors"], first["vectors"], atol=1e-5)


def hub_api(hub: HubServer, project: str) -> str:
    import requests

    return requests.get(f"{hub.url}/api/projects/{project}", timeout=10).text


CONFLICT = '''
import json, sys
import ray
from hub import ops
from hub.pipeline import DataCollection

ray.init(address=sys.argv[1], log_to_driver=False)
on_bare = dict(backend="ray", num_cpus=0.5, resources={"bare": 1}, progress=False)
rows = (DataCollection(range(3))
        .map(ops.toolz_version_a(), **on_bare)    # toolz==0.12.1
        .map(ops.toolz_version_b(), **on_bare)    # toolz==1.0.0
        .to_list())
print(json.dumps({"rows": rows}))
'''


@pytest.fixture
def evil_index(tmp_path: Path) -> Iterator[Index]:
    """Another index serving the hub's own names: the same version with other bytes, and a
    higher version (dependency confusion, issue #11)."""
    evil = "def toolz_version(item):\n    return item, 'EVIL'\n"
    with serve_index(tmp_path / "evil") as index:
        for version in ("1.0.0", "9.0"):
            index.wheel("opshub-test-conflict-a", version, ["toolz==0.12.1"], modules={
                "opshub_test_conflict_a/__init__.py": "",
                "opshub_test_conflict_a/impl.py": evil})
        yield index


def test_two_operators_with_conflicting_pins_in_one_pipeline_and_no_confusion(
        cluster: Cluster, work: dict[str, Any], evil_index: Index, tmp_path: Path) -> None:
    # the second index is offered to every resolver and to the node's pip, as a user might
    extra = {"PIP_EXTRA_INDEX_URL": evil_index.simple, "HUB_EXTRA_INDEX_URLS": evil_index.simple}
    out = drive(cluster, work, CONFLICT, tmp_path / "driver", extra)
    assert out["rows"] == [[[i, "0.12.1"], "1.0.0"] for i in range(3)]


HUB_ENV_TASK = '''
import json, sys
import ray

ray.init(address=sys.argv[1], log_to_driver=False)
env = json.loads(open(sys.argv[2]).read())

@ray.remote(num_cpus=0.5, resources={"bare": 1})
def run(row):
    import sys
    import hub, opshub_test_dep   # the bare node has neither: both come from the env
    from opshub_test_dep.impl import render_row
    return {**render_row(row), "hub": hub.__file__, "operator": opshub_test_dep.__file__,
            "prefix": sys.prefix, "registered": hub.ops.spec("render-row").distribution}

print(json.dumps(ray.get(run.options(runtime_env=env).remote([1, 2]))))
'''


def hub_env(cluster: Cluster, work: dict[str, Any], folder: Path, *args: str
            ) -> subprocess.CompletedProcess[str]:
    """`hub env ARGS --address CLUSTER --resources '{"bare": 1}'` from the driver venv."""
    env = {**os.environ, **work["env"], "RAY_AUTH_MODE": "disabled"}
    env.pop("PYTHONPATH", None)
    return subprocess.run([str(work["python"]), "-m", "hub", "env", *args, "--address",
                           cluster.address, "--resources", '{"bare": 1}'],
                          capture_output=True, text=True, env=env, cwd=folder, check=False)


def test_hub_env_address_prints_an_env_a_plain_task_on_the_bare_node_runs_with(
        cluster: Cluster, work: dict[str, Any], tmp_path: Path) -> None:
    printed = hub_env(cluster, work, tmp_path, "render-row", "--json")
    assert printed.returncode == 0, printed.stderr
    assert "target: Python 3." in printed.stderr and "probed on 1 node(s)" in printed.stderr
    (tmp_path / "env.json").write_text(printed.stdout)
    [pinned] = [line.split()[0] for line in node_spec(json.loads(printed.stdout))["requirements"]
                if line.startswith("tabulate==")]  # PyPI's newest today: not asserted
    out = drive(cluster, work, HUB_ENV_TASK, tmp_path / "task", None,
                str(tmp_path / "env.json"))
    assert (out["table"], out["tabulate"]) == ("-  -\n1  2\n-  -", pinned.split("==")[1])
    # opshub from the env's py_modules (uploaded by `hub env`), the operator's wheel from
    # the hub into the node env the task runs in, not the bare node's own venv
    assert "/runtime_resources/py_modules_files/" in out["hub"]
    assert out["operator"].startswith(out["prefix"]) and \
        not out["prefix"].startswith(str(BARE_VENV))
    assert out["registered"] == "opshub-test-dep"  # found by the env's opshub, installed


def test_hub_env_address_with_conflicting_operators_is_the_conflict(
        cluster: Cluster, work: dict[str, Any], tmp_path: Path) -> None:
    printed = hub_env(cluster, work, tmp_path, "toolz-version-a", "toolz-version-b")
    assert printed.returncode == 1 and "probed on 1 node(s)" in printed.stderr
    assert printed.stderr.splitlines()[-1].startswith(
        "error: operator 'toolz-version-a' pins toolz==0.12.1 but operator 'toolz-version-b' "
        "pins toolz==1.0.0; they cannot share one env")
