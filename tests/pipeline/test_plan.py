"""The plan, decided once per stage, checked without Ray (a cluster is a list of nodes)."""

from __future__ import annotations

from typing import Any

import pytest

from hub import InvalidOperator, Operator, OperatorSpec, PipelineError
from hub.pipeline import (
    ClusterView,
    DataCollection,
    Regroup,
    Stage,
    StageOptions,
    make_plan,
    per_worker,
)
from hub.pipeline._plan import DEFAULT_BATCH_SIZE, MIB, ray_resources
from hub.pipeline._sizing import BlockSizer

SPEC = OperatorSpec.create("embed", "pkg.mod:Embed", kind="class", batch=True, num_cpus=0.5,
                           num_gpus=1, memory=2**30)
TWO_CPUS = ClusterView(({"CPU": 2.0, "object_store_memory": 2.0 * 2**30},), 2.0 * 2**30)
BARE = ClusterView(({"CPU": 1.0}, {"CPU": 1.0, "bare": 1.0}), 2.0 * 2**30)


class Model:
    def __call__(self, x: int) -> int:
        return x


def decode(x: int) -> int:
    return x


def ray(kind: str, fn: Any, **options: Any) -> Stage:
    return Stage(kind, fn, StageOptions(backend="ray", runtime_env=False, **options))  # type: ignore[arg-type]


def test_resources_come_from_the_operator_spec_then_the_stage() -> None:
    assert ray_resources(ray("map", Operator(SPEC))) == {"num_cpus": 0.5, "num_gpus": 1,
                                                        "memory": 2**30}
    stage = ray("map", Operator(SPEC), num_gpus=0, num_cpus=2, resources={"bare": 1})
    assert ray_resources(stage) == {"num_cpus": 2, "memory": 2**30, "resources": {"bare": 1}}
    assert ray_resources(ray("map", str)) == {"num_cpus": 1.0}


def test_decode_then_a_class_stage_fuse_into_one_actor_pool() -> None:
    plan = make_plan([ray("map", decode), ray("map", per_worker(Model))], TWO_CPUS)
    (step,) = plan.steps
    assert [s.name for s in step.stages] == ["map(decode)", "map(Model)"]
    assert step.pool == "actors" and step.workers == 2
    assert "map(decode) + map(Model)  on Ray actors x2" in str(plan)


def test_unfused_stages_share_the_cluster_instead_of_starving_each_other() -> None:
    """ray#44687 between stages: two actors of 1 CPU on 2 CPUs leave decode nothing."""
    steps = [ray("map", decode), ray("map", per_worker(Model), num_worker=2, fuse=False)]
    first, second = make_plan(steps, TWO_CPUS).steps
    assert (first.pool, first.workers, second.pool, second.workers) == ("tasks", 1, "actors", 1)
    assert second.workers_note == "num_worker=2 asked; 1 fits beside the stages that run with it"
    assert first.phase == second.phase == 0


def test_what_never_fuses() -> None:
    a, b = ray("map", decode), ray("map", decode)
    envs = {id(a): {"env_vars": {"A": "1"}}, id(b): {"env_vars": {"B": "1"}}}
    assert len(make_plan([a, b], TWO_CPUS, lambda s: envs[id(s)]).steps) == 2  # other envs
    cases = [
        [ray("map", decode), ray("map", decode, num_cpus=0.5)],  # other resources
        [ray("map", decode), ray("map", decode, max_retries=0)],  # other retries
        [ray("map", decode, num_worker=1), ray("map", decode)],  # tasks of other sizes
        [ray("map", per_worker(Model)), ray("map", decode)],  # nothing after an actor stage
        [ray("map", decode), ray("map", decode, fuse=False)],  # asked not to
        [ray("map", decode), Regroup(2), ray("map", decode)],  # batch() runs in the driver
    ]
    for steps in cases:
        plan = make_plan(steps, TWO_CPUS)
        assert sum(1 for s in plan.steps if not isinstance(s, Regroup)) == 2, steps
    same = make_plan([ray("map", decode), ray("filter", decode), ray("flat_map", decode)],
                     TWO_CPUS)
    assert len(same.steps) == 1 and same.steps[0].pool == "tasks"


def test_local_and_thread_stages_fuse_with_their_own_kind() -> None:
    local = [Stage("map", str), Stage("map", str), Stage("map", str,
                                                          StageOptions(backend="thread"))]
    plan = make_plan(local)
    assert [len(s.stages) for s in plan.steps] == [2, 1]
    assert [s.pool for s in plan.steps] == ["caller", "threads"]


def test_stages_that_cannot_hold_a_worker_at_once_run_one_after_another() -> None:
    steps = [ray("map", per_worker(Model), resources={"bare": 1}),
             ray("map", decode, resources={"bare": 1})]
    plan = make_plan(steps, BARE)
    assert [s.phase for s in plan.steps] == [0, 1]
    (note,) = plan.notes
    assert note.startswith("map(Model) (each worker {CPU: 1, bare: 1}) and map(decode) (each "
                           "{CPU: 1, bare: 1}) cannot both hold a worker at once")
    assert "they run one after another" in note and "not in the driver" in note


def test_a_stage_no_node_can_hold_fails_at_once_naming_the_resource() -> None:
    with pytest.raises(PipelineError) as info:
        make_plan([ray("map", Operator(SPEC))], BARE)
    assert str(info.value) == (
        "map(embed) needs {CPU: 0.5, GPU: 1, memory: 1.0 GiB} per worker and no node of the "
        "cluster has that (2 nodes: {CPU: 1}, {CPU: 1, bare: 1}) — lower "
        "num_cpus=/num_gpus=/memory=/resources= or add a node that has them")


def test_default_workers_fill_the_cluster_once() -> None:
    def workers(cluster: ClusterView, **options: Any) -> int:
        (step,) = make_plan([ray("map", decode, **options)], cluster).steps
        return step.workers

    assert workers(TWO_CPUS, num_cpus=0.5) == 4
    assert workers(ClusterView(({"CPU": 8, "GPU": 1},)), num_gpus=1) == 1
    assert workers(ClusterView(({"CPU": 64},)), num_cpus=0) == 16
    assert workers(BARE) == 2  # one on each node
    assert workers(BARE, resources={"bare": 1}) == 1


def test_idle_warm_pools_hold_their_share() -> None:
    (step,) = make_plan([ray("map", decode)], TWO_CPUS, held=[{"CPU": 1.0}]).steps
    assert step.workers == 1


def test_the_batch_size_is_the_operator_s_not_the_block_s() -> None:
    spec = OperatorSpec.create("running-sum", "pkg:Sum", kind="class", batch=True)
    (step,) = make_plan([ray("map", Operator(spec))], TWO_CPUS).steps
    assert step.batch_size == DEFAULT_BATCH_SIZE
    (step,) = make_plan([ray("map", Operator(spec), batch_size=8)], TWO_CPUS).steps
    assert step.batch_size == 8 and step.calls(["k"])[0]["batch_size"] == 8
    sizer = BlockSizer.for_plans([step], total=128)
    sizer.measured, sizer.bytes_per_item = True, 1.0
    assert sizer.length() % 8 == 0  # blocks hold whole batches


def test_blocks_are_sized_in_bytes_and_time() -> None:
    (step,) = make_plan([ray("map", decode)], TWO_CPUS).steps
    sizer = BlockSizer.for_plans([step], total=None)
    assert sizer.length() == 1  # until a first block is measured
    meta: Any = {"peak_bytes": 4 * MIB, "seconds": 0.001}
    sizer.observe(4, meta)  # 1 MiB per input item at its largest
    assert sizer.length() == 16  # 16 MiB blocks
    sizer.observe(4, {"peak_bytes": 40, "seconds": 4.0})  # small now, but slow: 1 s each
    assert sizer.length() == 1  # half a second of work, at least one item
    ints = BlockSizer.for_plans([step], total=None)
    ints.observe(1000, {"peak_bytes": 16_000, "seconds": 0.0001})
    assert ints.length() == 4096  # the cap
    short = BlockSizer.for_plans([step], total=100)
    short.observe(1, {"peak_bytes": 16, "seconds": 0.0})
    assert short.length() == 13  # 100 items for 2 workers, at least 4 blocks each
    assert BlockSizer.for_plans(make_plan([ray("map", decode, chunk_size=300)],
                                          TWO_CPUS).steps, None).length() == 300


def test_explain_prints_one_entry_per_stage() -> None:
    steps = [ray("map", decode), ray("map", per_worker(Model), fuse=False, timeout=5)]
    text = str(make_plan(steps, TWO_CPUS))
    assert text.splitlines()[0] == "plan: 2 stages in 2 steps, on a Ray cluster of 1 node: {CPU: 2}"
    assert "1. map(decode)  on Ray tasks x1" in text
    assert "2. map(Model)  on Ray actors x1" in text
    assert "per worker {CPU: 1}; runtime_env: none; retries 3" in text
    assert "timeout per call: map(Model) 5 s" in text
    assert "Ray: at most 1,024 MiB of blocks alive (50% of the object store)" in text


def test_explain_works_for_local_and_thread_stages_without_ray() -> None:
    text = DataCollection.range(3).map(str).map(len, backend="thread", num_worker=3).explain()
    assert "1. map(str)  in the caller's thread" in text
    assert "2. map(len)  on 3 threads (num_worker=3)" in text


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"backend": "thread", "timeout": 2},
         "timeout=2: a thread cannot be stopped, so backend='thread' cannot honour it"),
        ({"backend": "local", "num_worker": 2},
         "num_worker=2: backend='local' runs in the caller's thread, one worker"),
        ({"backend": "thread", "num_cpus": 1, "resources": {"a": 1}},
         ("num_cpus=, resources= only apply to backend='ray'; this stage runs on "
          "backend='thread'")),
        ({"runtime_env": {"env_vars": {}}}, "runtime_env= only apply to backend='ray'"),
        ({"backend": "ray", "batch_size": 4}, "batch_size=4: map(str) is called per item"),
        ({"backend": "ray", "keep_warm": True}, "keep_warm=True: map(str) has no state to keep"),
        ({"backend": "ray", "timeout": 0}, "timeout=0 must be a number of seconds > 0"),
        ({"block_bytes": 0}, "block_bytes=0 must be a whole number >= 1"),
    ],
)
def test_options_a_backend_cannot_honour_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidOperator) as info:
        DataCollection.range(3).map(str, **options)
    assert message in str(info.value)
