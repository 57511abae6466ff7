"""The planner's pure parts, with a fake survey: no Ray, no resolver, no network."""

from __future__ import annotations

import pytest
from packaging.version import Version

from hub import ConfigError, OperatorSpec, ResolutionError
from hub._operator import HubOrigin
from runtime_env import (
    PYPI,
    Lock,
    NodeReport,
    PipSources,
    Survey,
    Target,
    Wheel,
    needs_env,
    plan_env,
)
from runtime_env._accelerator import Misfit, build_of, candidates, misfits
from runtime_env._builds import fits, list_builds
from runtime_env._planner import demands
from runtime_env._sources import Cooldown, Sources

H = "ab" * 32
RAY = {"ray": ("2.60.0", ("click>=7.0",)), "click": ("8.1.8", ())}
OPSHUB = {"opshub": ("0.1.0", ("pluggy>=1.5",)), "pluggy": ("1.7.0", ())}


def node(name: str, packages: dict, resources: dict | None = None, python: str = "3.11.7",
         cuda: str | None = None) -> NodeReport:
    return NodeReport(name, resources or {"CPU": 1.0}, python, "linux", "x86_64", cuda,
                      {**RAY, **packages})


HEAD = node("head", {**OPSHUB, "torch": ("2.13.0+cpu", ()),
                     "op-dist": ("1.0", ("torch>=2.1",))})
BARE = node("bare", {}, {"CPU": 1.0, "bare": 1.0})
SURVEY = Survey((HEAD, BARE))
TARGET = Target("3.11.7")
SPEC = OperatorSpec("op", "op_mod:run", distribution="op-dist", version="1.0")
ORIGIN = HubOrigin("http://hub:8470", "hub-op", "0.2", ("torch>=2.1",))
WHEEL_URL = "http://hub:8470/files/hub-op/hub_op-0.2-py3-none-any.whl"
HUB_SPEC = OperatorSpec("hub-op", "hub_op:run", distribution="hub-op", version="0.2",
                        origin=ORIGIN)
LOCK = Lock.from_pins({"torch": "2.13.0+cpu", "click": "8.1.8"},
                      hashes={"torch": [H], "click": [H]})


def plan(specs, lock=LOCK, survey=SURVEY, wheels=None, runtime=None):
    return plan_env(specs, lock, survey, target=TARGET, install_options=["--index-url", "x"],
                    wheels=wheels or {}, opshub_version="0.1.0", runtime=runtime)


def test_the_stage_resources_pick_the_nodes_and_their_target() -> None:
    assert SURVEY.eligible({"CPU": 1.0, "bare": 1.0}).nodes == (BARE,)
    assert SURVEY.eligible({"CPU": 0.5}).nodes == (HEAD, BARE)
    assert SURVEY.eligible({"GPU": 1.0}).nodes == (HEAD, BARE)  # none yet: an autoscaler may add
    assert SURVEY.target() == TARGET
    gpus = Survey((node("a", {}, cuda="12.4"), node("b", {}, cuda="12.1")))
    assert gpus.target().accelerator == "cu121"  # the oldest driver decides
    mixed = Survey((node("a", {}, cuda="12.4"), node("b", {})))
    assert mixed.target().accelerator == "cpu"


def test_nodes_of_different_pythons_cannot_share_one_env() -> None:
    with pytest.raises(ConfigError, match="differ in Python.*resources="):
        Survey((HEAD, node("old", {}, python="3.10.4"))).target()


def test_demands_come_from_the_stage_options_else_the_operators() -> None:
    assert demands([SPEC], None) == {"CPU": 1.0, "GPU": 0.0}
    assert demands([SPEC], {"num_cpus": 0.5, "resources": {"bare": 1}}) == \
        {"CPU": 0.5, "GPU": 0.0, "bare": 1.0}


def test_no_env_when_every_node_has_the_operator_its_requirements_and_opshub() -> None:
    assert not needs_env([SPEC], Survey((HEAD,)), TARGET, "0.1.0")
    assert needs_env([SPEC], SURVEY, TARGET, "0.1.0")  # the bare node lacks it all
    assert needs_env([SPEC], Survey((HEAD,)), TARGET, "0.2.0")  # another opshub
    torchless = node("h", {**OPSHUB, "op-dist": ("1.0", ("torch>=2.1",))})
    assert needs_env([SPEC], Survey((torchless,)), TARGET, "0.1.0")  # walked requirements


def test_the_env_adds_only_what_some_node_lacks() -> None:
    env = plan([SPEC], survey=Survey((HEAD, BARE)), runtime=Lock.from_pins(
        {"pluggy": "1.7.0"}, hashes={"pluggy": [H]}))
    assert env is not None
    # click is on every node; torch and pluggy are not on the bare node
    assert env.requirements == (f"pluggy==1.7.0 --hash=sha256:{H}",
                                f"torch==2.13.0+cpu --hash=sha256:{H}")
    assert env.local_distributions == ("op-dist",)  # not on the hub: shipped as files
    assert env.opshub and env.install_options == ("--index-url", "x")


def test_a_hub_operator_is_installed_by_url_and_sha256_only() -> None:
    wheel = Wheel("hub-op", "0.2", WHEEL_URL, H)
    env = plan([HUB_SPEC], wheels={"hub-op": wheel})
    assert env is not None
    assert f"hub-op @ {WHEEL_URL} --hash=sha256:{H}" in env.requirements
    assert env.local_distributions == ()


def test_a_hub_project_in_the_lock_comes_by_url_too() -> None:
    lock = Lock.from_pins({"dep-on-hub": "1.0"}, hashes={})  # uv took it from the hub
    wheel = Wheel("dep-on-hub", "1.0", "http://hub/files/dep.whl", H)
    env = plan([HUB_SPEC], lock=lock, wheels={"dep-on-hub": wheel, "hub-op": wheel})
    assert env is not None
    assert "dep-on-hub @ http://hub/files/dep.whl --hash=sha256:" + H in env.requirements


def test_a_pin_without_a_hash_is_refused() -> None:
    with pytest.raises(ResolutionError, match="no sha256 for click"):
        plan([SPEC], lock=Lock.from_pins({"click": "9.0"}))


def test_nothing_to_add_is_no_env() -> None:
    assert plan([SPEC], survey=Survey((HEAD,))) is None


def test_an_assumed_node_is_a_bare_node_like_this_driver() -> None:
    survey = Survey.assumed(Target.current())
    assert not survey.connected and survey.nodes[0].lookup("ray") is not None
    assert survey.nodes[0].lookup("opshub") is None and survey.nodes[0].lookup("torch") is None


# --- accelerator builds ---------------------------------------------------------------

CUDA_LOCK = Lock.from_pins({"torch": "2.15.0", "nvidia-cuda-runtime-cu12": "12.8.90"})


def test_a_build_is_known_by_its_label_or_by_what_it_pulls_in() -> None:
    assert build_of("2.13.0+cpu", Lock()) == "cpu"
    assert build_of("2.13.0+cu121", Lock()) == "cu121"
    assert build_of("2.15.0", CUDA_LOCK) == "cu128"
    assert build_of("2.15.0", Lock.from_pins({"torch": "2.15.0", "nvidia-cublas": "13"})) == "cuda"
    assert build_of("2.15.0", Lock.from_pins({"torch": "2.15.0"})) == "cpu"  # e.g. macOS


def test_misfits_for_cpu_and_cuda_targets() -> None:
    assert misfits(CUDA_LOCK, Target("3.11", accelerator="cpu")) == [
        Misfit("torch", "2.15.0", "cu128")]
    assert misfits(CUDA_LOCK, Target("3.11", accelerator="cu128")) == []
    assert misfits(CUDA_LOCK, Target("3.11", accelerator="cu121")) != []  # too new a CUDA


def test_candidates_prefer_the_same_release_then_older_never_newer() -> None:
    builds = [Version(v) for v in ("2.16.0+cpu", "2.15.0+cpu", "2.13.0+cpu", "2.15.0+cu121",
                                   "2.15.0+cu118", "2.15.0")]
    misfit = Misfit("torch", "2.15.0", "cu128")
    assert candidates(misfit, builds, Target("3.11")) == ["2.15.0+cpu", "2.13.0+cpu"]
    assert candidates(misfit, builds, Target("3.11", accelerator="cu121")) == \
        ["2.15.0+cu121", "2.15.0+cu118"]


def test_builds_are_listed_from_pages_and_folders_for_the_target(tmp_path) -> None:
    (tmp_path / "torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl").touch()
    (tmp_path / "torch-2.12.0+cpu-cp312-cp312-manylinux_2_28_x86_64.whl").touch()  # cp312
    page = ('<a href="../../files/torch-2.14.0%2Bcpu-cp311-cp311-manylinux_2_28_x86_64.whl'
            '#sha256=ab">x</a><a href="torch-2.14.0+cu121-cp311-cp311-win_amd64.whl">y</a>')
    pages = {"http://i/simple/torch/": page}
    found = list_builds("torch", Sources("http://i/simple/", find_links=(str(tmp_path),)),
                        Target("3.11.7"), pages.__getitem__)
    assert found == [Version("2.14.0+cpu"), Version("2.13.0+cpu")]
    assert fits("cp311", "cp311", "manylinux_2_17_x86_64", Target("3.11"))
    assert not fits("cp311", "cp311", "manylinux_2_34_x86_64", Target("3.11"))
    assert not fits("cp311", "cp311", "macosx_11_0_arm64", Target("3.11"))


# --- sources and the cooldown ----------------------------------------------------------


def test_pip_variables_and_hub_settings_make_one_set_of_sources() -> None:
    from hub.config import load_settings

    env = {"PIP_INDEX_URL": "http://mirror/simple/", "PIP_EXTRA_INDEX_URL": "http://a/ http://b/",
           "PIP_FIND_LINKS": "/opt/wheels", "HUB_FIND_LINKS": "/more", "HUB_CONFIG": "/no/such"}
    sources = Sources.from_settings(load_settings(env), PipSources.from_variables(env),
                                    hub_index="http://hub/simple/")
    assert sources.uv_args() == [  # a name from the first index with a version that fits
        "--index", "http://hub/simple/", "--index", "http://a/", "--index", "http://b/",
        "--default-index", "http://mirror/simple/", "--index-strategy", "unsafe-first-match",
        "--find-links", "/opt/wheels", "--find-links", "/more"]
    assert sources.pip_args() == [  # pip never gets the hub as an index (pip#8606)
        "--index-url", "http://mirror/simple/", "--extra-index-url", "http://a/",
        "--extra-index-url", "http://b/", "--find-links", "/opt/wheels", "--find-links", "/more"]


def test_pip_no_index_leaves_the_find_links_and_the_hub() -> None:
    from hub.config import Settings

    pip = PipSources.from_variables({"PIP_NO_INDEX": "yes", "PIP_FIND_LINKS": "/f",
                                     "PIP_EXTRA_INDEX_URL": "http://a/"})
    sources = Sources.from_settings(Settings(), pip)
    assert pip.no_index and sources.indexes == ()
    assert sources.uv_args() == sources.pip_args() == ["--no-index", "--find-links", "/f"]
    hub = Sources.from_settings(Settings(), pip, hub_index="http://hub/simple/")
    assert hub.uv_args() == ["--default-index", "http://hub/simple/", "--index-strategy",
                             "unsafe-first-match", "--find-links", "/f"]
    own = Sources.from_settings(Settings(package_index_url="http://own/"), pip)
    assert own.pip_args() == ["--index-url", "http://own/", "--find-links", "/f"]  # [hub] wins
    assert not PipSources.from_variables({"PIP_NO_INDEX": "0"}).no_index


def test_pip_no_index_keeps_pypi_given_as_an_extra_index() -> None:
    """With no default index, PyPI named as an extra index is one of the sources (it was
    dropped as if it were the default)."""
    from hub.config import Settings

    pip = PipSources.from_variables({"PIP_NO_INDEX": "yes"})
    sources = Sources.from_settings(Settings(extra_index_urls=(PYPI, "http://a/")), pip)
    assert sources.indexes == (PYPI, "http://a/")
    assert sources.pip_args() == ["--index-url", PYPI, "--extra-index-url", "http://a/"]
    plain = Sources.from_settings(Settings(extra_index_urls=(PYPI, "http://a/")))
    assert plain.indexes == ("http://a/", PYPI)  # beside the default, it is the default


@pytest.mark.parametrize("setting", ["7 days", "1 week", "P7D", "168 hours"])
def test_a_cooldown_is_a_duration_before_now(setting: str) -> None:
    from datetime import datetime, timezone

    now = datetime(2025, 6, 8, tzinfo=timezone.utc)
    assert Cooldown(setting).stamp(now) == "2025-06-01T00:00:00Z"


def test_a_cooldown_can_be_a_date_and_a_bad_one_is_one_clear_error() -> None:
    assert Cooldown("2024-06-01").stamp() == "2024-06-01T00:00:00Z"
    with pytest.raises(ConfigError, match="lock-exclude-newer = 'soon' must be a duration"):
        Cooldown("soon")
