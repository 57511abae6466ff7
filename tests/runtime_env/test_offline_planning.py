"""Offline planning against a real hub (issue #14): the nodes build their envs with the
pinned uv, fetched from the hub's mirror, so planning fails in one line, before any Ray
work, when the mirror lacks it. A local upstream index (support.upstream) fills the mirror;
the cluster is a survey written here, so nothing starts Ray."""

from __future__ import annotations

import hashlib
from importlib.metadata import version
from pathlib import Path

import pytest
from support.app import AppServer
from support.upstream import OPERATOR, operator, upstream

from hub import NotMirrored
from hub._hub_operators import fetch_spec
from hub.client import HubClient
from hub.config import Settings
from runtime_env import NodeReport, Planner, Scope, Survey, Target
from runtime_env._target import target_flags


@pytest.mark.server
@pytest.mark.network  # the upstream index serves real node wheels (PyPI, once per machine)
def test_offline_a_mirror_without_the_node_tool_fails_in_planning_in_one_line(
        tmp_path: Path) -> None:
    with upstream(tmp_path / "upstream") as index, AppServer(tmp_path / "hub") as hub:
        client = HubClient(hub.url, token=hub.token)
        client.upload(operator(tmp_path / "operator"), progress=False)
        files = index.root / "files"
        for wheel in sorted(files.glob("*.whl")):  # the operator's pins, not the pinned uv
            if wheel.name.startswith(("alpha-", "beta-", "gamma-")):
                _mirror(client, wheel)
        target = Target.current()
        node = NodeReport("bare", {"CPU": 1.0}, target.python_version, offline=True,
                          packages={"opshub": (version("opshub"), ())})
        scope = Scope(Survey((node,)), target)
        planner = Planner(settings=Settings(cache_dir=tmp_path / "cache", url=hub.url,
                                            hub_configured=True), client=client)
        spec = fetch_spec(client, OPERATOR)
        with pytest.raises(NotMirrored) as raised:
            planner.plan([spec], scope)  # no Ray: this process never starts or joins one
        assert str(raised.value) == (
            f"offline: uv 0.13.9 (the tool node envs are built with) is not mirrored on the "
            f"hub at {hub.url} for {target.describe()}, which is the only index (HUB_OFFLINE) "
            f"— on a connected machine run `hub mirror {OPERATOR} {target_flags(target)}` "
            "(then `hub bundle`/`hub import` if that hub is not this one)")
        _mirror(client, next(files.glob("uv-0.13.9-*.whl")))
        plan = planner.plan([spec], scope)  # with it mirrored, the same plan is made
        assert plan is not None and plan.requirements and plan.tool is not None
        assert plan.tool.url.startswith(f"{hub.url}/mirror/files/uv/uv-0.13.9-")


def _mirror(client: HubClient, wheel: Path) -> None:
    with open(wheel, "rb") as body:
        client.mirror_upload(body, wheel.name, wheel.name.split("-")[0],
                             hashlib.sha256(wheel.read_bytes()).hexdigest())
