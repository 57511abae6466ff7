"""How a stage's Ray options are made: operator metadata, then per-stage overrides."""

from __future__ import annotations

import pytest

from hub import InvalidOperator, Operator, OperatorSpec, Resources
from hub.pipeline import Stage, StageOptions, per_worker
from hub.pipeline.executors.ray_executor import default_workers, ray_options

SPEC = OperatorSpec("embed", "pkg.mod:Embed", kind="class",
                    resources=Resources(num_cpus=0.5, num_gpus=1, memory=2**30))


class FakeCluster:
    """Only ``cluster_resources``, the one call default_workers makes."""

    def __init__(self, **resources: float) -> None:
        self.resources = resources

    def cluster_resources(self) -> dict[str, float]:
        return self.resources


class Model:
    def __call__(self, x: int) -> int:
        return x


def test_per_worker_takes_only_callable_classes() -> None:
    with pytest.raises(InvalidOperator, match="per_worker\\(\\) takes a class with __call__"):
        per_worker(FakeCluster)


def test_resources_come_from_the_operator_spec() -> None:
    stage = Stage("map", Operator(SPEC), StageOptions(runtime_env=False))
    assert stage.is_class
    assert ray_options(stage) == {"num_cpus": 0.5, "num_gpus": 1, "memory": 2**30}


def test_stage_options_override_the_spec_and_carry_the_runtime_env() -> None:
    env = {"env_vars": {"A": "1"}}
    stage = Stage("map", Operator(SPEC), StageOptions(num_gpus=0, num_cpus=2, runtime_env=env,
                                                      resources={"bare": 1}))
    assert ray_options(stage) == {"num_cpus": 2, "num_gpus": 0, "memory": 2**30,
                                  "resources": {"bare": 1}, "runtime_env": env}


def test_plain_functions_take_one_cpu_and_no_env() -> None:
    assert ray_options(Stage("map", str)) == {"num_cpus": 1}
    assert not Stage("map", str).is_class
    assert Stage("map", per_worker(Model)).is_class


def test_default_workers_fill_the_cluster_once() -> None:
    assert default_workers(FakeCluster(CPU=2), {"num_cpus": 0.5}) == 4
    assert default_workers(FakeCluster(CPU=8, GPU=1), {"num_cpus": 1, "num_gpus": 1}) == 1
    assert default_workers(FakeCluster(CPU=64), {"num_cpus": 0}) == 16
    assert default_workers(FakeCluster(CPU=1), {"num_cpus": 4}) == 1
