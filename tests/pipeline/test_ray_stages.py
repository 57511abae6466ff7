"""The Ray executor: backpressure, killed workers, failing actors, resources, runtime_env."""

from __future__ import annotations

import os
import resource
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.pipeline import DataCollection, PipelineError, per_worker
from hub.pipeline.executors.ray_executor import IN_FLIGHT_PER_WORKER

pytestmark = pytest.mark.ray


def test_an_endless_stream_runs_with_bounded_work_in_flight(ray_here: Any) -> None:
    produced = 0
    peak_ahead = 0

    def source() -> Iterator[int]:
        nonlocal produced
        while produced < 1_000_000:
            produced += 1
            yield produced

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = DataCollection(source()).map(
        lambda x: x + 1, backend="ray", num_worker=2, chunk_size=1000, runtime_env=False
    )
    consumed = total = 0
    for value in out:
        consumed += 1
        total += value
        peak_ahead = max(peak_ahead, produced - consumed)
    assert consumed == 1_000_000 and total == sum(range(2, 1_000_002))
    # 2 workers -> 8 chunks in flight, plus the chunk being read and the one being yielded.
    assert peak_ahead <= (IN_FLIGHT_PER_WORKER * 2 + 2) * 1000
    growth_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    assert growth_mb < 150, f"driver peak RSS grew by {growth_mb:.0f} MB"


def die_once(marker: str) -> Any:
    """A function that kills its own worker process the first time it sees item 5000."""
    def call(x: int) -> int:
        if x == 5000 and not os.path.exists(marker):
            Path(marker).touch()
            os.kill(os.getpid(), signal.SIGKILL)
        return x
    return call


class DieOnce:
    """A class operator whose actor process kills itself once, mid-stage."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __call__(self, x: int) -> int:
        return die_once(self.marker)(x)


def test_a_killed_task_worker_loses_nothing(ray_here: Any, tmp_path: Path) -> None:
    marker = tmp_path / "died"
    out = DataCollection.range(10_000).map(
        die_once(str(marker)), backend="ray", num_worker=2, runtime_env=False
    ).to_list()
    assert marker.exists()
    assert out == list(range(10_000))


def test_a_killed_actor_is_restarted_and_loses_nothing(ray_here: Any, tmp_path: Path) -> None:
    marker = tmp_path / "died"
    out = DataCollection.range(10_000).map(
        per_worker(DieOnce, str(marker)), backend="ray", num_worker=2, num_cpus=0.5,
        runtime_env=False,
    ).to_list()
    assert marker.exists()
    assert out == list(range(10_000))


class BrokenModel:
    def __init__(self) -> None:
        raise OSError("weights.bin is missing")

    def __call__(self, x: int) -> int:  # pragma: no cover - never built
        return x


@pytest.mark.timeout(120)
def test_a_failing_actor_constructor_fails_the_stage_clearly(ray_here: Any) -> None:
    with pytest.raises(PipelineError) as info:
        DataCollection.range(100).map(per_worker(BrokenModel), backend="ray", runtime_env=False)
    message = str(info.value)
    assert "map(BrokenModel): the operator could not be constructed on a Ray actor" in message
    assert "weights.bin is missing" in message


@pytest.mark.timeout(120)
def test_an_actor_that_cannot_be_placed_fails_instead_of_hanging(ray_here: Any) -> None:
    with pytest.raises(PipelineError, match="no actor started within 2 s"):
        DataCollection.range(10).map(
            per_worker(DieOnce, "unused"), backend="ray", num_cpus=64, num_worker=1,
            startup_timeout=2, runtime_env=False,
        )


@pytest.mark.timeout(120)
def test_a_worker_that_always_dies_fails_after_its_retries(ray_here: Any) -> None:
    def crash(x: int) -> int:
        os.kill(os.getpid(), signal.SIGKILL)
        return x  # pragma: no cover

    with pytest.raises(PipelineError, match=r"map\(.*crash\) on items 0\.\.\d+: its worker died"):
        DataCollection.range(10).map(crash, backend="ray", max_retries=1, runtime_env=False)


def assigned(x: int) -> dict[str, float]:
    import ray

    return dict(ray.get_runtime_context().get_assigned_resources())


def test_resources_come_from_the_stage(ray_here: Any) -> None:
    out = DataCollection([1]).map(assigned, backend="ray", num_cpus=0.25, runtime_env=False)
    assert out.to_list() == [{"CPU": 0.25}]


def test_the_stage_runtime_env_reaches_the_workers(ray_here: Any) -> None:
    env = {"env_vars": {"OPSHUB_PROBE": "from-the-stage"}}
    out = DataCollection.range(3).map(
        lambda x: os.environ.get("OPSHUB_PROBE"), backend="ray", runtime_env=env
    )
    assert out.to_list() == ["from-the-stage"] * 3
    actors = DataCollection.range(3).map(
        per_worker(EnvProbe), backend="ray", num_worker=1, num_cpus=0.5, runtime_env=env
    )
    assert actors.to_list() == ["from-the-stage"] * 3


class EnvProbe:
    def __call__(self, x: int) -> str | None:
        return os.environ.get("OPSHUB_PROBE")


@pytest.mark.slow
def test_a_hub_operator_runs_as_a_ray_data_function_and_class(
    ray_here: Any, test_ops: Path
) -> None:
    from hub import ops
    from hub.pipeline import ray_data_class, ray_data_fn

    ds = ray_here.data.from_items([{"item": i} for i in range(100)])
    by_fn = ds.map_batches(ray_data_fn(ops.add_one()), batch_size=32)
    assert sorted(row["item"] for row in by_fn.take_all()) == list(range(1, 101))
    by_class = ds.map_batches(
        ray_data_class(ops.running_sum(start=5), output="total"),
        batch_size=32, concurrency=1, num_cpus=0.5,
    )
    assert sorted(row["total"] for row in by_class.take_all()) == list(range(5, 105))
