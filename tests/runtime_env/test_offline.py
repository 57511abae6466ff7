"""Offline mode's pure parts (issue #14): who decides it, where locks then come from, the
one line for a missing wheel, targets and wheel tags. No Ray; one in-process hub."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from server.helpers import AppServer

from hub import HubOrigin, NotMirrored, OperatorSpec
from hub.client import HubClient
from hub.config import Settings
from hub.offline import missing_package
from runtime_env import NodeReport, Planner, Scope, Sources, Survey, Target, UvResolver
from runtime_env._builds import tag_rank
from runtime_env._mirror import targets
from runtime_env._node_builder import _installer_env

TARGET = Target("3.11.7")
HUB = "http://hub.internal:8470"
ORIGIN = HubOrigin(HUB, "hub-op", "0.2", "hub_op-0.2-py3-none-any.whl",
                   f"{HUB}/files/hub-op/hub_op-0.2-py3-none-any.whl", "ab" * 32,
                   ("pillow>=10",))
SPEC = OperatorSpec("hub-op", "hub_op:run", distribution="hub-op", version="0.2",
                    origin=ORIGIN)


def _scope(offline: bool) -> Scope:
    node = NodeReport("bare", {"CPU": 1.0}, "3.11.7", offline=offline)
    return Scope(Survey((node,)), TARGET)


def _planner(tmp_path: Path, **settings: object) -> Planner:
    return Planner(settings=Settings(cache_dir=tmp_path, url=HUB, hub_configured=True,
                                     **settings), env={"PIP_INDEX_URL": "https://pypi.test/"})


def test_a_node_started_with_hub_offline_makes_the_hub_the_only_source(tmp_path: Path
                                                                       ) -> None:
    planner = _planner(tmp_path, worker_url="http://10.0.0.1:8470")
    online = planner.sources([SPEC], _scope(offline=False))
    assert online.index_url == "https://pypi.test/" and online.hub_index == f"{HUB}/simple/"
    offline = planner.sources([SPEC], _scope(offline=True))
    assert offline == Sources(f"{HUB}/mirror/simple/", hub_index=f"{HUB}/simple/")
    nodes = planner.sources([SPEC], _scope(offline=True), nodes=True)
    assert nodes.pip_args() == ["--index-url", "http://10.0.0.1:8470/mirror/simple/"]
    assert _planner(tmp_path, offline=True).offline(_scope(offline=False))  # HUB_OFFLINE


def test_the_survey_carries_a_nodes_offline_setting() -> None:
    node = NodeReport("bare", {"CPU": 1.0}, "3.11.7", offline=True)
    assert NodeReport.from_dict(node.to_dict()) == node
    assert Survey((node, replace(node, node_id="b", offline=False))).offline
    assert not Survey((replace(node, offline=False),)).offline


def test_a_lock_the_mirror_cannot_satisfy_is_one_line_naming_package_target_and_fix(
        tmp_path: Path) -> None:
    def uv_fails(command: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(command, 1, "", (
            "error: No solution found when resolving dependencies\n  cause: Because pillow "
            "was not found in the package registry and you require pillow>=10, we can "
            "conclude that your requirements are unsatisfiable.\n"))

    with AppServer(tmp_path / "hub") as hub:
        spec = replace(SPEC, origin=replace(ORIGIN, hub_url=hub.url))
        planner = Planner(settings=Settings(cache_dir=tmp_path, url=hub.url,
                                            hub_configured=True),
                          resolver=UvResolver(runner=uv_fails), client=HubClient(hub.url))
        with pytest.raises(NotMirrored) as raised:
            planner.lock([spec], _scope(offline=True))
    assert str(raised.value) == (
        f"offline: pillow is not mirrored on the hub at {hub.url} for Python 3.11.7 "
        "linux/x86_64, cpu, which is the only index (HUB_OFFLINE) — on a connected machine "
        "run `hub mirror hub-op --python 3.11.7 --platform linux/x86_64 --accelerator cpu` "
        "(then `hub bundle`/`hub import` if that hub is not this one)")


@pytest.mark.parametrize(("output", "package"), [
    ("Because pillow was not found in the package registry and you require pillow>=10", "pillow"),
    ("Because only numpy==1.0 is available and you require numpy>=2, we can", "numpy"),
    ("Because there is no version of sympy==1.14.0 and torch==2.13.0+cpu depends on", "sympy"),
    ("Because Torch==2.13.0+cpu has no wheels with a matching platform tag", "torch"),
    ("ERROR: No matching distribution found for Pillow_SIMD>=10", "pillow-simd"),
    ("error: failed to connect", None),
])
def test_the_missing_package_is_read_from_uv_and_pip(output: str, package: str | None) -> None:
    assert missing_package(output) == package


def test_targets_are_every_combination_of_the_options_given() -> None:
    base = Target("3.11.7", "linux", "x86_64")
    found = targets(["3.11,3.12"], ["linux/aarch64"], ["cpu", "cu121"], base)
    assert [(t.python_version, t.machine, t.accelerator) for t in found] == [
        ("3.11", "aarch64", "cpu"), ("3.11", "aarch64", "cu121"),
        ("3.12", "aarch64", "cpu"), ("3.12", "aarch64", "cu121")]
    assert targets([], [], [], base) == [base]


def test_wheels_rank_as_installers_rank_them_for_the_target() -> None:
    ranks = {name: tag_rank(name, TARGET) for name in (
        "x-1-cp311-cp311-manylinux_2_28_x86_64.whl",
        "x-1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "x-1-cp311-cp311-linux_x86_64.whl",
        "x-1-cp38-abi3-manylinux2014_x86_64.whl", "x-1-py3-none-any.whl",
        "x-1-cp311-cp311-musllinux_1_1_x86_64.whl", "x-1-cp311-cp311-manylinux_2_34_x86_64.whl",
        "x-1-cp312-cp312-manylinux_2_28_x86_64.whl")}
    order = sorted((r, n) for n, r in ranks.items() if r is not None)
    assert [n.split("-", 2)[2] for _, n in order] == [
        "cp311-cp311-manylinux_2_28_x86_64.whl",
        "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "cp311-cp311-linux_x86_64.whl", "cp38-abi3-manylinux2014_x86_64.whl",
        "py3-none-any.whl"]


def test_the_node_builder_gives_its_installers_none_of_the_nodes_index_variables(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PIP_INDEX_URL", "PIP_FIND_LINKS", "UV_DEFAULT_INDEX", "UV_INDEX_URL"):
        monkeypatch.setenv(name, "http://127.0.0.1:9/simple/")
    monkeypatch.setenv("UV_CACHE_DIR", "/tmp/kept")
    env = _installer_env()
    assert not {"PIP_INDEX_URL", "PIP_FIND_LINKS", "UV_DEFAULT_INDEX", "UV_INDEX_URL"} & set(env)
    assert env["UV_CACHE_DIR"] == "/tmp/kept"
