"""``Planner.plan`` with fakes at its edges (the hub, the resolver, pip's configuration,
index pages, a surveyed node): how each operator's own code reaches the node, which
wheel, and at which URL; the same for the pinned uv the node builds with. Pure logic; the
real hub, resolvers and cluster are in test_locks.py, test_env_cli.py, test_cluster.py,
test_offline_planning.py and test_airgap_cluster.py."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import hub
from hub import ConfigError, HubError, NotMirrored, OperatorSpec, ResolutionError
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
from runtime_env._node_tool import tool_lock

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


class FakePages:
    """Index pages as the planner reads them (PEP 691 JSON), by URL; any other is down."""

    def __init__(self, pages: Mapping[str, Mapping[str, str]]) -> None:
        self.pages = pages  # page URL -> {filename: sha256}
        self.asked: list[str] = []

    def __call__(self, url: str) -> str:
        self.asked.append(url)
        if url not in self.pages:
            raise ConnectionError(f"{url} is not served here")
        files = [{"filename": f, "url": f"../../files/uv/{f}", "hashes": {"sha256": h}}
                 for f, h in self.pages[url].items()]
        return json.dumps({"meta": {"api-version": "1.0"}, "files": files})


PINNED = sorted(tool_lock().hash_dict["uv"])  # the real pins: any filename may carry them
UV_FILES = {f"uv-0.13.9-py3-none-{tag}.whl": PINNED[i] for i, tag in enumerate([
    "manylinux_2_17_x86_64.manylinux2014_x86_64", "manylinux_2_17_aarch64.manylinux2014_aarch64",
    "musllinux_1_1_x86_64", "macosx_10_12_x86_64", "macosx_11_0_arm64", "win_amd64"])}
PYPI_UV = "https://pypi.org/simple/uv/"
PAGES = {PYPI_UV: UV_FILES}

BARE = NodeReport("bare", {"CPU": 1.0}, "3.11.7",
                  packages={"ray": ("2.60.0", ()), "opshub": (hub.__version__, ())})
SCOPE = Scope(Survey((BARE,)), TARGET)


def hub_op(requires_python: str | None = None, url: str = URL) -> OperatorSpec:
    origin = HubOrigin(url, "hub-op", "0.2", ("tabulate>=0.9",), requires_python)
    return OperatorSpec("hub-op", "hub_op:run", distribution="hub-op", version="0.2",
                        origin=origin)


def planner(tmp_path: Any, client: FakeHub, ship: str = "auto",
            worker_url: str | None = None, pages: FakePages | None = None,
            offline: bool = False) -> Planner:
    settings = Settings(url=URL, worker_url=worker_url, cache_dir=tmp_path,
                        hub_configured=True, offline=offline)
    return Planner(settings=settings, resolver=FakeResolver({"tabulate": "0.9.0"}),
                   locks=LockCache(tmp_path / "locks"), client=client,  # type: ignore[arg-type]
                   pip=PipSources(), ship=ship, fetch=pages or FakePages(PAGES))


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


# --- the pinned uv the nodes build with ---------------------------------------------------


RELEASED = {("hub-op", "0.2"): ["hub_op-0.2-py3-none-any.whl"]}


@pytest.mark.parametrize(("platform", "machine", "tag"), [
    ("linux", "x86_64", "manylinux_2_17_x86_64.manylinux2014_x86_64"),
    ("linux", "aarch64", "manylinux_2_17_aarch64.manylinux2014_aarch64"),
    ("darwin", "arm64", "macosx_11_0_arm64"),
    ("darwin", "x86_64", "macosx_10_12_x86_64"),
    ("win32", "AMD64", "win_amd64"),
])
def test_the_nodes_fetch_the_pinned_uv_wheel_that_fits_their_platform(
        tmp_path, platform: str, machine: str, tag: str) -> None:
    target = Target("3.11.7", platform, machine)
    filename = f"uv-0.13.9-py3-none-{tag}.whl"
    plan = planner(tmp_path, FakeHub(URL, RELEASED)).plan(
        [hub_op()], Scope(Survey.assumed(target), target))
    assert plan is not None and plan.tool is not None
    assert (plan.tool.filename, plan.tool.hashes) == (filename, (UV_FILES[filename],))
    assert plan.tool.url == f"https://pypi.org/files/uv/{filename}"


def test_a_better_fitting_uv_wheel_with_bytes_nobody_pinned_is_never_chosen(tmp_path) -> None:
    other = "uv-0.13.9-py3-none-manylinux_2_28_x86_64.whl"  # ranks first for the target
    pages = FakePages({PYPI_UV: {**UV_FILES, other: "ee" * 32}})
    plan = planner(tmp_path, FakeHub(URL, RELEASED), pages=pages).plan([hub_op()], SCOPE)
    assert plan is not None and plan.tool is not None
    assert plan.tool.filename == "uv-0.13.9-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"


def test_offline_the_nodes_fetch_the_pinned_uv_from_the_hubs_mirror_at_the_workers_url(
        tmp_path) -> None:
    pages = FakePages({f"{URL}/mirror/simple/uv/": UV_FILES})
    plan = planner(tmp_path, FakeHub(URL, RELEASED), worker_url="http://10.0.0.5:8470", pages=pages,
                   offline=True).plan([hub_op()], SCOPE)
    assert plan is not None and plan.tool is not None
    assert plan.tool.url == ("http://10.0.0.5:8470/mirror/files/uv/uv-0.13.9-py3-none-"
                             "manylinux_2_17_x86_64.manylinux2014_x86_64.whl")
    assert pages.asked == [f"{URL}/mirror/simple/uv/"]  # the mirror only: nothing upstream


def test_no_uv_wheel_for_the_target_fails_planning_in_one_line(tmp_path) -> None:
    target = Target("3.11.7", "linux", "ppc64le")
    scope = Scope(Survey.assumed(target), target)
    with pytest.raises(ResolutionError) as raised:
        planner(tmp_path, FakeHub(URL, RELEASED)).plan([hub_op()], scope)
    assert str(raised.value) == (
        "no source offers a wheel of uv 0.13.9 (the tool node envs are built with) for Python "
        "3.11.7 linux/ppc64le, cpu with one of its pinned sha256 (searched: "
        "https://pypi.org/simple/) — let this driver reach an index that has it (PyPI does), "
        "or add a find-links folder holding it")
    pages = FakePages({f"{URL}/mirror/simple/uv/": UV_FILES})
    with pytest.raises(NotMirrored) as offline:  # the same rule offline: the mirror lacks it
        planner(tmp_path, FakeHub(URL, RELEASED), pages=pages, offline=True).plan([hub_op()], scope)
    assert str(offline.value).startswith(
        "offline: uv 0.13.9 (the tool node envs are built with) is not mirrored on the hub at "
        f"{URL} for Python 3.11.7 linux/ppc64le, cpu, which is the only index (HUB_OFFLINE) — "
        "on a connected machine run `hub mirror hub-op --python 3.11.7 --platform "
        "linux/ppc64le")


def test_one_planner_finds_the_uv_wheel_once_per_target_and_only_for_an_install(
        tmp_path) -> None:
    pages = FakePages(PAGES)
    one = planner(tmp_path, FakeHub(URL, RELEASED), pages=pages)
    for _ in range(3):
        one.plan([hub_op()], SCOPE)
    assert pages.asked == [PYPI_UV]
    nothing = NodeReport("full", {"CPU": 1.0}, "3.11.7", packages={
        **BARE.packages, "tabulate": ("0.9.0", ()), "hub-op": ("0.2", ())})
    assert one.plan([hub_op()], Scope(Survey((nothing,)), TARGET)) is None
