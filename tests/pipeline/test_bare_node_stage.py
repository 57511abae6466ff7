"""A pipeline stage runs a published hub operator on a node that has nothing but Ray.

The stage asks ``runtime_env.stage_runtime_env`` for its env (the default), so the
bare node gets the operator, its dependency (``tabulate``) and opshub itself.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support.cluster import Cluster, run_driver

pytestmark = [pytest.mark.ray, pytest.mark.cluster, pytest.mark.server, pytest.mark.slow]

OPERATORS = Path(__file__).parents[1] / "operators"
DRIVER = '''
import json, sys
import ray
from hub import ops
from hub.pipeline import DataCollection

ray.init(address=sys.argv[1], log_to_driver=False)
rows = DataCollection([[1, 2], [3, 4]]).map(
    ops.render_row(), backend="ray", num_cpus=1, resources={"bare": 1}, progress=False
)
print(json.dumps({"rows": rows.to_list()}))
'''


@pytest.mark.timeout(600)
def test_a_stage_runs_a_published_operator_on_a_bare_node(
    bare_node_cluster: Cluster, hub_server: Any, test_ops_site: Path,
    tmp_path: Path,
) -> None:
    subprocess.run([sys.executable, "-m", "hub", "publish", str(OPERATORS / "dep")],
                   check=True, capture_output=True)
    env = {"HUB_URL": hub_server.url, "HUB_CACHE_DIR": str(tmp_path / "cache")}
    out = run_driver(bare_node_cluster, DRIVER, tmp_path / "driver", test_ops_site, env)
    assert [row["table"] for row in out["rows"]] == ["-  -\n1  2\n-  -", "-  -\n3  4\n-  -"]
