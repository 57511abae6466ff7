"""On a two-node cluster whose second node has nothing but ``ray[default]``: blocks go
from a stage on the head to a stage on the bare node without passing the driver, and two
stages that both need the bare node's single ``bare`` unit still finish.

The driver is its own process (``run_driver``); its stages are plain functions pickled
by value, and opshub's worker runtime travels by value too, so the bare node needs no env.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.cluster import Cluster, run_driver

pytestmark = [pytest.mark.ray, pytest.mark.cluster, pytest.mark.slow]

DRIVER = '''
import json, os, sys, warnings
import ray
from support.memory import peak_rss
from hub.pipeline import DataCollection, per_worker

ray.init(address=sys.argv[1], log_to_driver=False)
MIB = 1 << 20
DRIVER_PID = os.getpid()
HEAD = {"node:__internal_head__": 0.001}


def _rebuild(payload, node, driver):
    if os.getpid() == driver:
        raise RuntimeError("the driver received an intermediate item")
    return Poison(payload, node)


class Poison:
    """A 1 MiB stage output that refuses to be unpickled in the driver."""

    def __init__(self, payload, node):
        self.payload, self.node = payload, node

    def __reduce__(self):
        return _rebuild, (self.payload, self.node, DRIVER_PID)


def node():
    return ray.get_runtime_context().get_node_id()


def decode(i):
    return Poison(bytes([i % 251]) * MIB, node())


def measure(p):
    return len(p.payload) + p.payload[0], p.node, node()


class Tag:
    def __call__(self, x):
        return x * 10


heads = [n["NodeID"] for n in ray.nodes() if "node:__internal_head__" in n["Resources"]]
bare = [n["NodeID"] for n in ray.nodes() if "bare" in n["Resources"]]
opts = {"backend": "ray", "progress": False}
with peak_rss() as rss:
    rows = DataCollection(iter(range(400))).map(decode, resources=HEAD, **opts).map(
        measure, resources={"bare": 1}, **opts).to_list()
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    one_unit = DataCollection(iter(range(50))).map(per_worker(Tag), resources={"bare": 1},
        **opts).map(lambda x: x + 1, resources={"bare": 1}, **opts).to_list()
print(json.dumps({
    "sizes_ok": [r[0] for r in rows] == [MIB + i % 251 for i in range(400)],
    "decoded_on": sorted({r[1] for r in rows}), "measured_on": sorted({r[2] for r in rows}),
    "head": heads, "bare": bare, "rss_growth_mb": rss.growth_mb,
    "one_unit": one_unit, "warnings": [str(w.message) for w in caught],
}))
'''


@pytest.mark.timeout(600)
def test_blocks_cross_nodes_without_the_driver_and_one_unit_stages_finish(
    bare_node_cluster: Cluster, tmp_path: Path,
) -> None:
    support = Path(__file__).parents[1]  # tests/, for support.memory in the driver
    out: dict[str, Any] = run_driver(bare_node_cluster, DRIVER, tmp_path / "driver", support)
    assert out["sizes_ok"]
    assert out["decoded_on"] == out["head"] and out["measured_on"] == out["bare"]
    assert out["rss_growth_mb"] < 150, f"the driver grew {out['rss_growth_mb']:.0f} MB"
    assert out["one_unit"] == [x * 10 + 1 for x in range(50)]
    (warning,) = out["warnings"]
    assert warning.startswith("map(Tag) (each worker {CPU: 1, bare: 1}) and map(<lambda>) "
                              "(each {CPU: 1, bare: 1}) cannot both hold a worker at once")
