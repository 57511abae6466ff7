"""``Planner.plan`` with fakes at its edges (the hub, the resolver, pip's configuration, a
surveyed node): how each operator's own code reaches the node, which wheel, and at
which URL. Pure logic; the real hub, resolvers and cluster are in test_locks.py,
test_env_cli.py and test_cluster.py."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import hub
from hub import ConfigError, HubError, OperatorSpec
from hub._hub_operators import choose_wheel
from hub._operator import HubOrigin
from hub.config import Settings
from runtime_env import (
    LockCache,
    LockRequest,
    NodeReport,
    PipSources,
    Planner,
    Resolver,
    Scope,
    Survey,
    Target,
)
from runtime_env._lock import Lock

H = "ab" * 32
URL = "http://127.0.0.1:8470"
TARGET = Target("3.11.7")
TAG = "cp311-cp311-manylinux_2_28_x86_64"


def sha(filename: str) -> str:
    return hashlib.sha256(filename.encode()).hexdigest()


class FakeHub:
    """The hub as the planner asks it: its projects, and each release's wheels."""

    def __init__(self, url: str, releases: Mapping[tuple[str, str], Sequence[str]]) -> None:
        self.url, self.releases = url, releases
        self.index_url, self.mirror_index_url = url + "/simple/", url + "/mirror/simple/"
        self.asked: list[str] = []

    def project_names(self) -> set[str]:
        self.asked.append("projects")
        return {canonicalize_name(name) for name, _ in self.releases}

    def release_wheel(self, name: str, version: str, **how: Any) -> dict[str, Any] | None:
        self.asked.append(f"{name} {version}")
        files = [{"filename": f, "url": f"{self.url}/files/{name}/{f}", "sha256": sha(f)}
                 for f in self.releases.get((name, version), ())]
        return dict(choose_wheel(files, name, version, **how)) if files else None


class FakeResolver(Resolver):
    """Pins each requirement from a table, with a hash (the real ones: test_locks.py)."""

    name = "fake"

    def __init__(self, pins: Mapping[str, str]) -> None:
        super().__init__()
        self.pins = pins

    @property
    def version(self) -> str:
        return "1"

    def resolve(self, request: LockRequest) -> Lock:
        names = {canonicalize_name(Requirement(r).name) for r in request.requirements}
        found = {n: v for n, v in self.pins.items() if n in names}
        return Lock.from_pins(found, hashes={n: [H] for n in found}, resolver=self.name)


BARE = NodeReport("bare", {"CPU": 1.0}, "3.11.7",
                  packages={"ray": ("2.60.0", ()), "opshub": (hub.__version__, ())})
SCOPE = Scope(Survey((BARE,)), TARGET)


def hub_op(requires_python: str | None = None, url: str = URL) -> OperatorSpec:
    origin = HubOrigin(url, "hub-op", "0.2", ("tabulate>=0.9",), requires_python)
    return OperatorSpec("hub-op", "hub_op:run", distribution="hub-op", version="0.2",
                        origin=origin)


def planner(tmp_path: Any, client: FakeHub, ship: str = "auto",
            worker_url: str | None = None) -> Planner:
    settings = Settings(url=URL, worker_url=worker_url, cache_dir=tmp_path,
                        hub_configured=True)
    return Planner(settings=settings, resolver=FakeResolver({"tabulate": "0.9.0"}),
                   locks=LockCache(tmp_path / "locks"), client=client,  # type: ignore[arg-type]
                   pip=PipSources(), ship=ship)


def test_a_hub_operator_gets_the_wheel_for_the_target_at_the_workers_url(tmp_path) -> None:
    wheels = [f"hub_op-0.2-{t}.whl" for t in ("cp312-cp312-manylinux_2_28_x86_64", TAG,
                                              "py3-none-any")]
    client = FakeHub(URL, {("hub-op", "0.2"): wheels})
    plan = planner(tmp_path, client, worker_url="http://10.0.0.5:8470").plan([hub_op()], SCOPE)
    assert plan is not None
    assert plan.requirements == (
        f"tabulate==0.9.0 --hash=sha256:{H}",
        f"hub-op @ http://10.0.0.5:8470/files/hub-op/hub_op-0.2-{TAG}.whl "
        f"--hash=sha256:{sha(f'hub_op-0.2-{TAG}.whl')}")
    assert plan.local_distributions == () and not plan.opshub


def test_no_wheel_for_the_target_is_one_line(tmp_path) -> None:
    client = FakeHub(URL, {("hub-op", "0.2"): ["hub_op-0.2-cp312-cp312-win_amd64.whl"]})
    with pytest.raises(HubError) as info:
        planner(tmp_path, client).plan([hub_op()], SCOPE)
    assert str(info.value) == (
        "hub-op 0.2 on the hub has no wheel for Python 3.11.7 linux/x86_64, cpu (it has "
        "hub_op-0.2-cp312-cp312-win_amd64.whl) — publish a wheel built for it with `hub "
        "publish`, or run the stage on nodes one of these fits")


def test_a_python_the_operator_does_not_support_is_refused_before_any_lock(tmp_path) -> None:
    client = FakeHub(URL, {("hub-op", "0.2"): ["hub_op-0.2-py3-none-any.whl"]})
    with pytest.raises(ConfigError, match=r"operator 'hub-op' \(hub-op 0.2 from the hub\) "
                       r"requires Python >=3.12, and the stage's nodes run Python 3.11.7"):
        planner(tmp_path, client).lock([hub_op(">=3.12")], SCOPE)
    assert planner(tmp_path, client).lock([hub_op(">=3.10")], SCOPE).as_dict == \
        {"tabulate": "0.9.0"}


def test_an_unpublished_operator_names_its_own_hub(tmp_path) -> None:
    other = "http://hub.other:9000"
    with pytest.raises(ConfigError, match=f"hub-op 0.2 is not on the hub at {other} "):
        planner(tmp_path, FakeHub(other, {})).plan([hub_op(url=other)], SCOPE)


@pytest.mark.parametrize("ship", ["auto", "index"])
def test_an_installed_operator_the_hub_publishes_comes_as_its_wheel(test_ops, tmp_path,
                                                                   ship) -> None:
    client = FakeHub(URL, {("opshub-test-dep", "1.0.0"): ["opshub_test_dep-1.0.0-py3-none-any.whl"]})
    plan = planner(tmp_path, client, ship).plan([hub.ops.spec("render-row")], SCOPE)
    assert plan is not None and plan.local_distributions == ()
    wheel = "opshub_test_dep-1.0.0-py3-none-any.whl"
    assert f"opshub-test-dep @ {URL}/files/opshub-test-dep/{wheel} --hash=sha256:{sha(wheel)}" \
        in plan.requirements


def test_an_installed_operator_ships_as_files_with_py_modules_or_when_unpublished(
        test_ops, tmp_path) -> None:
    spec = hub.ops.spec("render-row")
    published = FakeHub(URL, {("opshub-test-dep", "1.0.0"): ["x-1.0.0-py3-none-any.whl"]})
    files = planner(tmp_path, published, "py_modules").plan([spec], SCOPE)
    assert files is not None and files.local_distributions == ("opshub-test-dep",)
    assert "opshub-test-dep 1.0.0" not in published.asked  # the hub is not asked for it
    unpublished = planner(tmp_path, FakeHub(URL, {})).plan([spec], SCOPE)
    assert unpublished is not None and unpublished.local_distributions == ("opshub-test-dep",)
    with pytest.raises(ConfigError, match=f"opshub-test-dep 1.0.0 is not on the hub at {URL} "):
        planner(tmp_path, FakeHub(URL, {}), "index").plan([spec], SCOPE)


def test_one_planner_asks_the_hub_for_its_projects_once(tmp_path) -> None:
    client = FakeHub(URL, {("hub-op", "0.2"): ["hub_op-0.2-py3-none-any.whl"]})
    one = planner(tmp_path, client)
    for _ in range(3):  # the stages of one pipeline run
        one.plan([hub_op()], SCOPE)
    assert client.asked.count("projects") == 1
