"""The Ray backend: the data plane, memory, hangs, timeouts, errors, warm pools, faults."""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.memory import peak_rss

from hub.pipeline import DataCollection, ItemError, PipelineError, per_worker, release_warm_pools
from hub.pipeline._plan import RAY_IN_FLIGHT_PER_WORKER

pytestmark = pytest.mark.ray
MIB = 1024 * 1024
RAY = {"backend": "ray", "runtime_env": False}
DRIVER_PID = os.getpid()  # pickled by value with this module: workers see the driver's pid


def _rebuild(payload: bytes, driver: int) -> Poison:
    if os.getpid() == driver:
        raise RuntimeError("the driver received an intermediate item")
    return Poison(payload)


class Poison:
    """A stage output that refuses to be unpickled in the driver process."""

    def __init__(self, payload: bytes) -> None:
        self.payload = payload

    def __reduce__(self) -> tuple[Any, ...]:
        return _rebuild, (self.payload, DRIVER_PID)


def decode(i: int) -> Poison:
    return Poison(bytes([i % 251]) * MIB)


def measure(p: Poison) -> int:
    return len(p.payload) + p.payload[0]


def test_a_2_gb_stream_goes_stage_to_stage_without_the_driver(ray_here: Any) -> None:
    """2,000 x 1 MiB through two Ray stages (not fused): the driver never unpickles one,
    and its memory stays flat, because stage 2's tasks take stage 1's references."""
    dc = DataCollection(iter(range(2000))).map(decode, **RAY).map(measure, fuse=False, **RAY)
    assert [len(s.stages) for s in dc.plan().steps] == [1, 1]
    with peak_rss() as rss:
        total = sum(dc)
    assert total == sum(MIB + i % 251 for i in range(2000))
    assert rss.growth_mb < 150, f"driver RSS grew {rss.growth_mb:.0f} MB for a 2 GB stream"


def test_an_eager_collection_keeps_ray_results_in_the_object_store(ray_here: Any) -> None:
    decoded = DataCollection.range(64).map(decode, **RAY)
    assert len(decoded) == 64  # counted from the blocks' metadata, none fetched
    assert decoded.map(measure, **RAY).to_list() == [MIB + i % 251 for i in range(64)]
    with pytest.raises(Exception, match="the driver received an intermediate item"):
        decoded.to_list()  # reading it is the one way to bring it here (Ray wraps the error)


def test_a_million_item_stream_runs_in_bounded_driver_memory(ray_here: Any) -> None:
    produced = 0
    peak_ahead = 0

    def source() -> Iterator[int]:
        nonlocal produced
        while produced < 1_000_000:
            produced += 1
            yield produced

    out = DataCollection(source()).map(lambda x: x + 1, num_worker=2, **RAY)
    consumed = total = 0
    with peak_rss() as rss:
        for value in out:
            consumed += 1
            total += value
            peak_ahead = max(peak_ahead, produced - consumed)
    assert consumed == 1_000_000 and total == sum(range(2, 1_000_002))
    # blocks alive: twice the 2 workers x 4 calls in flight, plus the one being cut;
    # blocks of at most 4,096 items
    assert peak_ahead <= (2 * 2 * RAY_IN_FLIGHT_PER_WORKER + 1) * 4096
    assert rss.growth_mb < 150, f"driver peak RSS grew by {rss.growth_mb:.0f} MB"


class Embed:
    """A class stage at default resources (one CPU per actor)."""

    def __call__(self, x: int) -> int:
        return -x


@pytest.mark.timeout(180)
def test_decode_then_embed_with_default_resources_finishes_run_after_run(ray_here: Any) -> None:
    """On 2 CPUs the two actors of a 1-CPU class stage left the 1-CPU decode tasks nothing
    and the stream hung (issue 12); fused or not, it now finishes every time."""
    for fuse in (True, True, False, False):
        dc = DataCollection.range(300).stream().map(lambda x: x * 2, **RAY).map(
            per_worker(Embed), fuse=fuse, **RAY)
        assert dc.to_list() == [-2 * x for x in range(300)]


def nap(seconds: float) -> float:
    try:
        time.sleep(seconds)
    except BaseException:
        Path(os.environ["OPSHUB_NAP_LOG"]).write_text("interrupted")
        raise
    return seconds


@pytest.mark.timeout(180)
def test_a_timeout_makes_a_hung_call_a_per_item_error(ray_here: Any, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "nap.log"
    env = {"env_vars": {"OPSHUB_NAP_LOG": str(log)}}
    items = [0.0, 3600.0, 0.0, 0.0]
    out = DataCollection(items).map(nap, backend="ray", runtime_env=env, timeout=1,
                                    on_error="collect")
    assert out.to_list() == [0.0, 0.0, 0.0]
    (failure,) = out.errors
    assert failure.index == 1 and failure.stage == "map(nap)"
    assert "CallTimeout: map(nap): the call took longer than timeout=1 s" in failure.error
    assert log.read_text() == "interrupted"  # the hung call was stopped, not left running
    skipped = DataCollection(items).map(nap, backend="ray", runtime_env=env, timeout=1,
                                        on_error="skip")
    assert skipped.to_list() == [0.0, 0.0, 0.0] and skipped.errors == []
    with pytest.raises(ItemError, match=r"map\(nap\) failed on item 1 \(3600.0\)"):
        DataCollection(items).map(nap, backend="ray", runtime_env=env, timeout=1).to_list()


def stuck(path: str) -> Any:
    def call(x: int) -> int:
        if x == 1:
            Path(path).write_text(str(os.getpid()))
            signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGALRM])  # as C code would
            threading.Event().wait()
        return x
    return call


@pytest.mark.timeout(120)
def test_a_call_that_ignores_its_timeout_has_its_worker_killed(ray_here: Any,
                                                               tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    dc = DataCollection([0, 1, 2]).map(stuck(str(pid_file)), timeout=1, max_retries=0,
                                       on_error="skip", **RAY)
    with pytest.raises(PipelineError) as info:
        dc.to_list()
    message = str(info.value)
    assert re.search(r"map\(stuck.<locals>.call\) on items \d\.\.\d: its worker died", message)
    assert "a call that ignores its timeout (stuck in C code) is killed with its worker" in message
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(pid), "the hung worker was left running"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def lock_for(x: int) -> Any:
    return threading.Lock() if x == 2 else x


def test_an_output_that_cannot_be_pickled_fails_only_its_item(ray_here: Any) -> None:
    collected = DataCollection.range(5).map(lock_for, on_error="collect", **RAY)
    assert collected.to_list() == [0, 1, 3, 4]
    (failure,) = collected.errors
    assert failure.index == 2 and "cannot pickle '_thread.lock' object" in failure.error
    assert "map(lock_for) returned a lock that cannot be sent" in failure.error
    skipped = DataCollection.range(5).map(lock_for, on_error="skip", **RAY)
    assert skipped.to_list() == [0, 1, 3, 4]
    with pytest.raises(ItemError, match=r"map\(lock_for\) failed on item 2 \(2\)"):
        DataCollection.range(5).map(lock_for, **RAY).to_list()


def test_a_stage_that_cannot_be_pickled_names_the_object(ray_here: Any) -> None:
    guard = threading.Lock()

    def locked(x: int) -> int:
        with guard:
            return x

    with pytest.raises(PipelineError) as info:
        DataCollection.range(3).map(locked, **RAY).to_list()
    message = str(info.value)
    assert message.startswith("map(test_a_stage_that_cannot_be_pickled_names_the_object."
                              "<locals>.locked) cannot be sent to Ray workers: the variable "
                              "'guard' it closes over (a _thread.lock) cannot be pickled")
    assert "per_worker(cls, ...)" in message


class SlowModel:
    """Loading takes a while and is logged, one line per construction."""

    def __init__(self, log: str) -> None:
        with open(log, "a") as f:
            f.write(f"{os.getpid()}\n")
        time.sleep(1.0)

    def __call__(self, x: int) -> int:
        return x + 1


@pytest.mark.timeout(180)
def test_a_warm_pool_serves_a_second_run_without_loading_again(ray_here: Any,
                                                              tmp_path: Path) -> None:
    log = tmp_path / "loads"
    model = per_worker(SlowModel, str(log))
    try:
        first = DataCollection.range(200).map(model, keep_warm=True, num_worker=2, **RAY)
        assert first.to_list() == list(range(1, 201))
        assert len(log.read_text().split()) == 2
        started = time.monotonic()
        second = DataCollection.range(200).stream().map(lambda x: x * 10, **RAY).map(
            model, keep_warm=True, num_worker=2, **RAY)  # another run, fused with a new stage
        assert second.to_list() == [10 * x + 1 for x in range(200)]
        assert len(log.read_text().split()) == 2, "the second run loaded the model again"
        assert time.monotonic() - started < 30
    finally:
        assert release_warm_pools() == 2
    assert release_warm_pools() == 0


def double(x: int) -> int:
    return 2 * x


@pytest.mark.timeout(180)
def test_an_idle_warm_pool_in_the_way_of_a_new_run_is_released(ray_here: Any) -> None:
    """Hang A: two warm actors of 1 CPU held the 2 CPUs a later run's tasks needed, and
    it waited forever."""
    try:
        warm = DataCollection.range(20).map(per_worker(Embed), keep_warm=True, num_worker=2,
                                            **RAY)
        assert warm.to_list() == [-x for x in range(20)]
        started = time.monotonic()
        with pytest.warns(RuntimeWarning, match=re.escape(
                "the idle warm pool of map(Embed) (2 actors, each {CPU: 1}), kept warm by an "
                "earlier run, leaves map(double) no room: it is released")):
            assert DataCollection.range(20).map(double, **RAY).to_list() == \
                [2 * x for x in range(20)]
        assert time.monotonic() - started < 60
    finally:
        assert release_warm_pools() == 0


@pytest.mark.timeout(180)
def test_a_warm_pool_the_next_phase_needs_is_let_go(ray_here: Any) -> None:
    """Hang B: the first stage's actors (both CPUs) went back to the warm pool at the
    end of their phase, still holding what the next stage's tasks waited for."""
    dc = DataCollection.range(20).map(per_worker(Embed), keep_warm=True, num_cpus=2, **RAY) \
        .map(double, **RAY)
    assert [s.phase for s in dc.plan().steps] == [0, 1]
    with pytest.warns(RuntimeWarning, match=re.escape(
            "map(Embed): keep_warm=True, but its actors are let go when its blocks are done: "
            "map(double), which runs after it, needs what they hold ({CPU: 2})")):
        assert dc.to_list() == [-2 * x for x in range(20)]
    assert release_warm_pools() == 0


@pytest.mark.timeout(120)
def test_actors_whose_constructor_failed_are_never_kept_warm(ray_here: Any) -> None:
    with pytest.raises(PipelineError, match="could not be constructed on a Ray actor"):
        DataCollection.range(10).map(per_worker(BrokenModel), keep_warm=True, num_worker=1,
                                     num_cpus=0.5, **RAY).to_list()
    assert release_warm_pools() == 0


class Holder:
    """Another job's actor, holding CPUs the pipeline would use."""

    def ping(self) -> int:
        return os.getpid()


def hold(ray: Any, cpus: float) -> Any:
    holder = ray.remote(num_cpus=cpus)(Holder).remote()
    ray.get(holder.ping.remote())
    return holder


def let_go(ray: Any, holder: Any) -> None:
    """Kill ``holder`` and wait until Ray shows its CPUs free again (~0.1 s)."""
    ray.kill(holder)
    deadline = time.monotonic() + 10
    while ray.available_resources().get("CPU", 0) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.mark.timeout(180)
def test_a_stage_others_leave_no_room_fails_after_its_startup_timeout(ray_here: Any) -> None:
    """Hang C: an actor outside the pipeline holds both CPUs. The plan says so at once,
    and the stage fails after startup_timeout= instead of waiting forever."""
    holder = hold(ray_here, 2)
    try:
        for stage, what in [(double, "no call finished"),
                            (per_worker(Embed), "no actor started")]:
            started = time.monotonic()
            with pytest.warns(RuntimeWarning, match=r"each worker needs \{CPU: 1\} and the "
                              r"cluster has \{CPU: 0\} free now, of \{CPU: 2\}"), \
                    pytest.raises(PipelineError) as info:
                DataCollection.range(10).map(stage, startup_timeout=3, **RAY).to_list()
            name = "map(double)" if stage is double else "map(Embed)"
            assert str(info.value).startswith(
                f"{name}: {what} within startup_timeout=3 s: each worker needs {{CPU: 1}} and "
                "the cluster has {CPU: 0} free now, of {CPU: 2}, the rest held by actors or "
                "tasks outside this run")
            assert time.monotonic() - started < 30
    finally:
        let_go(ray_here, holder)


@pytest.mark.timeout(180)
def test_stages_that_cannot_share_what_others_leave_take_turns(ray_here: Any) -> None:
    """An actor outside the pipeline holds one of the two CPUs: decode tasks beside an
    embed actor would starve, so they run one after another."""
    holder = hold(ray_here, 1)
    try:
        dc = DataCollection.range(50).map(double, **RAY).map(per_worker(Embed), fuse=False,
                                                             **RAY)
        with pytest.warns(RuntimeWarning, match=r"cannot both hold a worker at once on what "
                                                r"is free now"):
            assert dc.to_list() == [-2 * x for x in range(50)]
    finally:
        let_go(ray_here, holder)


def test_a_num_worker_the_cluster_cannot_hold_is_cut_with_a_warning(ray_here: Any) -> None:
    with pytest.warns(RuntimeWarning, match=re.escape(
            "map(double): num_worker=5 asked, 2 given — each worker needs {CPU: 1} and the "
            "cluster has {CPU: 2}")):
        assert DataCollection.range(8).map(double, num_worker=5, **RAY).to_list() == \
            [2 * x for x in range(8)]


def keep(x: Any) -> bool:
    return True


def test_an_unpicklable_output_kept_by_a_fused_filter_fails_only_its_item(ray_here: Any
                                                                         ) -> None:
    dc = DataCollection.range(5).map(lock_for, on_error="skip", **RAY).filter(keep, **RAY)
    assert len(dc.plan().steps) == 1
    assert dc.to_list() == [0, 1, 3, 4]


@pytest.mark.slow
def test_explain_builds_nothing(ray_here: Any, test_ops: Path) -> None:
    """explain() reads the cluster and no more: a hub operator's env is not surveyed,
    locked or built (the run does that, and leaves its survey in the cache)."""
    from hub import ops

    cache = Path(os.environ["HUB_CACHE_DIR"])
    dc = DataCollection.range(3).map(ops.add_one(), backend="ray")
    text = dc.explain()
    assert "runtime_env: add-one's own, decided when the run starts" in text
    assert not cache.exists() or not any(cache.rglob("*"))
    assert dc.to_list() == [1, 2, 3]
    assert any(cache.rglob("*"))


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
    out = DataCollection.range(10_000).map(die_once(str(marker)), num_worker=2, **RAY).to_list()
    assert marker.exists()
    assert out == list(range(10_000))


def test_a_killed_actor_is_restarted_and_loses_nothing(ray_here: Any, tmp_path: Path) -> None:
    marker = tmp_path / "died"
    out = DataCollection.range(10_000).map(
        per_worker(DieOnce, str(marker)), num_worker=2, num_cpus=0.5, **RAY).to_list()
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
        DataCollection.range(100).map(per_worker(BrokenModel), on_error="skip", **RAY).to_list()
    message = str(info.value)
    assert "map(BrokenModel): the operator could not be constructed on a Ray actor" in message
    assert "weights.bin is missing" in message


@pytest.mark.timeout(60)
def test_a_stage_no_node_can_hold_fails_at_once(ray_here: Any) -> None:
    started = time.monotonic()
    with pytest.raises(PipelineError, match=r"map\(DieOnce\) needs \{CPU: 64\} per worker and "
                                            r"no node of the cluster has that"):
        DataCollection.range(10).map(per_worker(DieOnce, "unused"), num_cpus=64, **RAY).to_list()
    assert time.monotonic() - started < 20


@pytest.mark.timeout(120)
def test_a_worker_that_always_dies_fails_after_its_retries(ray_here: Any) -> None:
    def crash(x: int) -> int:
        os.kill(os.getpid(), signal.SIGKILL)
        return x  # pragma: no cover

    with pytest.raises(PipelineError, match=r"map\(.*crash\) on items \d+\.\.\d+: its worker died"):
        DataCollection.range(10).map(crash, max_retries=1, **RAY).to_list()


def assigned(x: int) -> dict[str, float]:
    import ray

    return dict(ray.get_runtime_context().get_assigned_resources())


def test_resources_come_from_the_stage(ray_here: Any) -> None:
    out = DataCollection([1]).map(assigned, num_cpus=0.25, **RAY)
    assert out.to_list() == [{"CPU": 0.25}]


class EnvProbe:
    def __call__(self, x: int) -> str | None:
        return os.environ.get("OPSHUB_PROBE")


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
