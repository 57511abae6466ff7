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
    StagePlan,
    make_plan,
    per_worker,
)
from hub.pipeline._capacity import Held
from hub.pipeline._plan import DEFAULT_BATCH_SIZE, MIB, ray_resources
from hub.pipeline._sizing import BlockSizer
from hub.pipeline.executors import LocalExecutor
from hub.pipeline.executors._base import Chunks
from hub.pipeline.executors.ray_common import pending_env

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
    plan = make_plan(steps, TWO_CPUS)
    first, second = plan.steps
    assert (first.pool, first.workers, second.pool, second.workers) == ("tasks", 1, "actors", 1)
    assert second.workers_note == "num_worker=2 asked; 1 fits beside the stages that run with it"
    assert first.phase == second.phase == 0
    assert plan.notes == (  # said as a RuntimeWarning when it runs, not only in explain()
        "map(Model): num_worker=2 asked, 1 given — each worker needs {CPU: 1} and the cluster "
        "has {CPU: 2} in all, shared with the stages that run at the same time; lower "
        "num_worker= or the stage's resources, or add nodes",)


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


WARM = Held("embed-key|{}|null|2", "map(Embed)", {"CPU": 1.0}, 2)


def test_idle_warm_pools_hold_their_share() -> None:
    one = Held("k|{}|null|1", "map(Embed)", {"CPU": 1.0}, 1)
    plan = make_plan([ray("map", decode)], TWO_CPUS, held=[one])
    assert plan.steps[0].workers == 1 and plan.release == () and plan.notes == ()


def test_an_idle_warm_pool_that_leaves_a_stage_no_room_is_released() -> None:
    """Hang A: a keep_warm pool of 2 actors on 2 CPUs, then a run of decode tasks."""
    plan = make_plan([ray("map", decode)], TWO_CPUS, held=[WARM])
    assert plan.steps[0].workers == 2 and plan.release == (WARM.key,)
    assert plan.notes == (
        "the idle warm pool of map(Embed) (2 actors, each {CPU: 1}), kept warm by an earlier "
        "run, leaves map(decode) no room: it is released (the next run of map(Embed) starts "
        "its actors again)",)
    actors = make_plan([ray("map", per_worker(Model), num_worker=1)], TWO_CPUS, held=[WARM])
    assert actors.release == (WARM.key,) and actors.steps[0].workers == 1


def test_a_stage_whose_room_others_hold_waits_and_says_so() -> None:
    """Hang C: actors of another job hold both CPUs; releasing our warm pool would not help."""
    busy = ClusterView(TWO_CPUS.nodes, TWO_CPUS.object_store_bytes, free=({"CPU": 0.0},))
    plan = make_plan([ray("map", decode, startup_timeout=5)], busy, held=[])
    assert plan.steps[0].workers == 1 and plan.crowded
    assert plan.notes == (
        "map(decode): each worker needs {CPU: 1} and the cluster has {CPU: 0} free now, of "
        "{CPU: 2} (actors or tasks outside this run hold the rest): the stage waits for "
        "them, and fails if none of its workers can start within startup_timeout=5 s",)
    assert "none fits in what is free now" in plan.steps[0].workers_note


def test_stages_that_fit_the_cluster_but_not_what_is_free_run_one_after_another() -> None:
    """Another actor holds one of two CPUs: decode tasks beside an embed actor would
    starve, so they take turns; planned on the totals alone they would hang."""
    steps = [ray("map", decode), ray("map", per_worker(Model), fuse=False)]
    assert [s.phase for s in make_plan(steps, TWO_CPUS).steps] == [0, 0]
    half = ClusterView(TWO_CPUS.nodes, TWO_CPUS.object_store_bytes, free=({"CPU": 1.0},))
    plan = make_plan(steps, half)
    assert [(s.phase, s.workers) for s in plan.steps] == [(0, 1), (1, 1)] and plan.crowded
    assert "cannot both hold a worker at once on what is free now of 1 node: {CPU: 2}" \
        in plan.notes[0]
    roomy = ClusterView(TWO_CPUS.nodes, TWO_CPUS.object_store_bytes, free=({"CPU": 2.0},))
    assert not make_plan(steps, roomy).crowded


def test_a_warm_pool_a_later_phase_needs_is_not_kept() -> None:
    """Hang B: kept warm, the actors would hold the one ``bare`` unit the next phase's
    tasks wait for."""
    steps = [ray("map", per_worker(Model), resources={"bare": 1}, keep_warm=True),
             ray("map", decode, resources={"bare": 1})]
    plan = make_plan(steps, BARE)
    assert [(s.phase, s.keep_warm) for s in plan.steps] == [(0, False), (1, False)]
    assert plan.notes[-1] == (
        "map(Model): keep_warm=True, but its actors are let go when its blocks are done: "
        "map(decode), which runs after it, needs what they hold ({CPU: 1, bare: 1})")
    # here the next phase fits beside the kept actor (the other actor stage is what it needs)
    steps = [ray("map", per_worker(Model), keep_warm=True),
             ray("map", per_worker(Model)), ray("map", decode)]
    kept, other, last = make_plan(steps, TWO_CPUS).steps
    assert (kept.phase, kept.keep_warm, other.phase, last.phase) == (0, True, 0, 1)
    assert last.workers == 1  # beside the kept actor


def test_chunk_size_on_a_later_stage_of_a_ray_run_is_refused() -> None:
    steps = [ray("map", decode), ray("map", per_worker(Model), chunk_size=64, fuse=False)]
    with pytest.raises(InvalidOperator) as info:
        make_plan(steps, TWO_CPUS)
    assert str(info.value) == (
        "chunk_size=64 on map(Model): the Ray stages from map(decode) to it run together and "
        "share blocks cut once, before map(decode) — pass chunk_size= to map(decode) (it then "
        "applies to all of them) or drop it here")
    same = [ray("map", decode, chunk_size=64), ray("map", per_worker(Model), chunk_size=64,
                                                   fuse=False)]
    assert [s.chunk_size for s in make_plan(same, TWO_CPUS).steps] == [64, 64]
    split = [ray("map", decode), Regroup(2), ray("map", decode, chunk_size=64)]
    assert make_plan(split, TWO_CPUS).steps[-1].chunk_size == 64  # a run of its own


def test_a_fused_chain_checks_the_outputs_of_its_last_stage_that_makes_values() -> None:
    """A filter passes on what the map before it made: that map's outputs leave the worker."""
    (step,) = make_plan([ray("map", decode), ray("filter", decode)], TWO_CPUS).steps
    assert [c["check_output"] for c in step.calls(["a", "b"])] == [True, False]
    (alone,) = make_plan([ray("filter", decode)], TWO_CPUS).steps
    assert [c["check_output"] for c in alone.calls(["a"])] == [False]  # its input came pickled
    (local,) = make_plan([Stage("map", decode)]).steps
    assert [c["check_output"] for c in local.calls(["a"])] == [False]


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


def test_blocks_after_a_batch_are_sized_by_their_items_not_their_span() -> None:
    """After ``.batch(32)`` an item is a list of 32 at its first part's origin, so a
    block's origins span 32 times its items: sized by the span, blocks of 1 MiB batches
    grew to 512 MiB (issue 12)."""
    batch = [bytes([i]) * (MIB // 32) for i in range(32)]  # one item of 1 MiB
    (step,) = make_plan([Stage("map", len)]).steps
    assert isinstance(step, StagePlan)
    executor = LocalExecutor([step])
    pieces = list(executor.execute(Chunks(([batch], [32 * i]) for i in range(64))))
    assert sum(p.source_items for p in pieces) == 64
    assert [p.source_items for p in pieces] == [len(p.data[0]) for p in pieces]
    assert MIB <= executor.sizer.bytes_per_item < 1.1 * MIB
    assert executor.sizer.length() <= 16  # 16 MiB blocks at most


def test_explain_prints_one_entry_per_stage() -> None:
    steps = [ray("map", decode), ray("map", per_worker(Model), fuse=False, timeout=5)]
    text = str(make_plan(steps, TWO_CPUS))
    assert text.splitlines()[0] == "plan: 2 stages in 2 steps, on a Ray cluster of 1 node: {CPU: 2}"
    assert "1. map(decode)  on Ray tasks x1" in text
    assert "2. map(Model)  on Ray actors x1" in text
    assert "per worker {CPU: 1}; runtime_env: none; retries 3" in text
    assert "timeout per call: map(Model) 5 s" in text
    assert "Ray: at most 1,024 MiB of blocks alive (50% of the object store)" in text


def test_explain_shows_a_hub_operator_s_env_as_not_yet_decided() -> None:
    stage = Stage("map", Operator(OperatorSpec("embed", "pkg:Embed")), StageOptions(backend="ray"))
    text = str(make_plan([stage], TWO_CPUS, pending_env))
    assert "runtime_env: embed's own, decided when the run starts (built only if the nodes " \
        "lack its packages; explain() builds nothing)" in text
    other = Stage("map", Operator(OperatorSpec("other", "pkg:Other")),
                  StageOptions(backend="ray"))
    assert len(make_plan([stage, other], TWO_CPUS, pending_env).steps) == 2  # never fused


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
