"""The stage runtime_env on the session's local Ray (workers see the test operators)."""

from __future__ import annotations

import subprocess

import pytest
from ray.runtime_env import RuntimeEnv

import hub
from hub._exceptions import ConfigError, PinConflict, ResolutionError
from runtime_env import (
    Lock,
    Target,
    UvResolver,
    fused_runtime_env,
    runtime_env_for,
    stage_runtime_env,
)

pytestmark = pytest.mark.ray


@pytest.fixture
def registry(test_ops, ray_local) -> hub.Registry:
    return hub.Registry.discover()


def round_trip(env: dict) -> dict:
    data = RuntimeEnv(**env).to_dict()
    data.pop("_ray_commit", None)
    return data


def test_no_env_when_the_cluster_already_has_everything(registry) -> None:
    assert stage_runtime_env(registry.get("add-one")) is None
    assert fused_runtime_env([registry.get("add-one"), registry.get("running-sum")]) is None


def refusing_runner(command):
    raise AssertionError(f"no resolver may run: {command}")


def test_a_satisfied_cluster_needs_no_lock_even_when_newer_releases_exist(registry) -> None:
    # heavy needs torch; the node has 2.13.0+cpu, PyPI has newer releases with CUDA wheels:
    # the requirement is checked on the nodes before any resolver runs.
    spec = registry.get("tensor-sum")
    assert stage_runtime_env(spec, resolver=UvResolver(refusing_runner)) is None


def test_unsatisfied_walks_requirements_on_every_node(registry) -> None:
    from runtime_env import _cluster

    dep = registry.get("render-row")
    assert _cluster.unsatisfied([f"{dep.distribution}=={dep.version}"]) == ["tabulate>=0.9"]
    assert _cluster.unsatisfied(["ray>=99"]) == [f"ray>=99 (found {ray_version()})"]


def ray_version() -> str:
    import ray

    return ray.__version__


def test_missing_third_party_package_gets_a_pip_env(registry) -> None:
    env = stage_runtime_env(registry.get("render-row"))
    assert env is not None and round_trip(env) == env
    assert env["pip"]["packages"] == ["tabulate==0.10.0"]
    options = env["pip"]["pip_install_options"]
    assert options[:3] == ["--disable-pip-version-check", "--no-cache-dir", "--no-deps"]
    assert "py_modules" not in env  # the workers already have opshub and the operator


def test_identical_locks_share_one_env_and_conflicts_do_not(registry) -> None:
    a, b = registry.get("toolz-version-a"), registry.get("toolz-version-b")
    assert stage_runtime_env(a) == stage_runtime_env(a)
    assert stage_runtime_env(a) != stage_runtime_env(b)
    settings, here = hub.load_settings(), Target.current()
    lock = Lock.from_pins({"toolz": "1.0.0"})
    assert runtime_env_for([a], lock, target=here, settings=settings) == \
        runtime_env_for([b], lock, target=here, settings=settings)


def test_fused_conflicting_operators_fail_before_any_ray_work(registry) -> None:
    with pytest.raises(PinConflict, match="toolz-version-a.*toolz-version-b"):
        fused_runtime_env([registry.get("toolz-version-a"), registry.get("toolz-version-b")])


def test_resolution_failure_surfaces_before_ray(registry) -> None:
    def broken(command: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(command, 1, "", "error: no index reachable\n")

    with pytest.raises(ResolutionError, match="exit 1.*no index reachable") as info:
        stage_runtime_env(registry.get("render-row"), resolver=UvResolver(broken))
    assert info.value.returncode == 1 and info.value.command[1:3] == ["pip", "compile"]


def test_bad_ship_mode(registry) -> None:
    with pytest.raises(ConfigError, match="ship='ftp'"):
        stage_runtime_env(registry.get("render-row"), ship="ftp")  # type: ignore[arg-type]


def test_ship_by_index_uses_the_worker_url(registry, monkeypatch) -> None:
    monkeypatch.setenv("HUB_WORKER_URL", "http://hub.internal:8470")
    spec = registry.get("render-row")
    lock = Lock.from_pins({"tabulate": "0.10.0"})
    env = runtime_env_for([spec.__class__(**{**spec.__dict__, "version": "9.9"})], lock,
                          target=Target.current(), settings=hub.load_settings(), ship="index")
    assert env is not None and round_trip(env) == env
    assert "opshub-test-dep==9.9" in env["pip"]["packages"]
    assert env["pip"]["pip_install_options"][-2:] == [
        "--extra-index-url", "http://hub.internal:8470/simple/"]


def test_unpublished_missing_operator_ships_through_py_modules(registry) -> None:
    spec = registry.get("render-row")
    local = spec.__class__(**{**spec.__dict__, "version": "9.9"})  # not what workers have
    env = runtime_env_for([local], Lock(), target=Target.current(),
                          settings=hub.load_settings())
    assert env is not None and round_trip(env) == env
    assert "pip" not in env
    assert len(env["py_modules"]) == 2 and all(u.startswith("gcs://") for u in env["py_modules"])


def test_the_target_is_the_connected_clusters(ray_local) -> None:
    from runtime_env._cluster import cluster_target

    assert cluster_target() == Target.current()
