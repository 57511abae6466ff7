"""The plan: every decision about how a pipeline's stages run, made once, printable.

``make_plan`` takes the stages as the user wrote them, the cluster as it is
(:class:`ClusterView`) and a way to get a stage's runtime_env, and decides per stage:
which stages fuse into one task or actor call, the pool (the caller, threads, Ray tasks,
Ray actors), workers, the Ray resources and env, retries, transport block sizes, the
operator batch size and how much is in flight. Executors only carry it out; tests check
it without Ray (issue 12).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypedDict

from .._exceptions import InvalidOperator, PipelineError
from .._operator import Operator
from ._capacity import (
    MAX_DEFAULT_WORKERS,
    ClusterView,
    Held,
    Layout,
    Nodes,
    Shape,
    demand_text,
    fits_alone,
)
from ._stage import Backend, Stage
from ._worker import CallSpec

Pool = Literal["caller", "threads", "tasks", "actors"]


@dataclass(frozen=True)
class PendingEnv:
    """A hub operator's runtime_env before a run decides it (``explain()`` builds none)."""

    operator: str


Env = dict[str, Any] | PendingEnv | None
EnvOf = Callable[[Stage], Env]

MIB = 1024 * 1024
DEFAULT_BLOCK_BYTES = 16 * MIB  # a transport block; Ray Data's ceiling is 128 MiB
BLOCK_SECONDS = 0.5  # work per block once measured: latency and balance, not overhead
MAX_BLOCK_ITEMS = 4096
DEFAULT_BATCH_SIZE = 32  # one call of a batch operator (a model batch), apart from blocks
# Calls in flight per Ray worker: 4 kept workers fed while the driver was busy (measured
# 1.2-1.6x the throughput of 2 on a loaded 2-core machine).
RAY_IN_FLIGHT_PER_WORKER = 4
THREAD_IN_FLIGHT_PER_WORKER = 2
# Blocks alive in a Ray segment are bounded in bytes to this share of the object store
# (Ray Data's default fraction, resource_manager.py).
OBJECT_STORE_FRACTION = 0.5
DEFAULT_RETRIES = 3
DEFAULT_STARTUP_TIMEOUT = 600.0


class RayResources(TypedDict, total=False):
    """What one Ray worker of a stage asks for (``.options(**resources)``)."""

    num_cpus: float
    num_gpus: float
    memory: int
    resources: dict[str, float]


@dataclass(frozen=True)
class Regroup:
    """``batch(size)`` (lists of ``size`` items) or, with ``size=None``, ``unbatch()``;
    it runs in the driver, between stages."""

    size: int | None
    drop_tail: bool = False

    @property
    def name(self) -> str:
        return "unbatch()" if self.size is None else f"batch({self.size})"


@dataclass(frozen=True)
class StagePlan:
    """How one physical stage runs: the stages fused in it and every number it needs."""

    stages: tuple[Stage, ...]
    pool: Pool
    workers: int
    workers_note: str
    resources: RayResources
    runtime_env: Env
    retries: int
    in_flight: int  # calls submitted and not finished, at most
    chunk_size: int | None  # fixed items per block, else sized from bytes and time
    block_bytes: int
    batch_size: int | None  # of the batch operator fused here: blocks are multiples of it
    keep_warm: bool
    startup_timeout: float
    phase: int = 0  # Ray stages of one phase run at the same time

    @property
    def backend(self) -> Backend:
        return self.stages[0].options.backend

    @property
    def name(self) -> str:
        return _names(self.stages)

    @property
    def ordered(self) -> bool:
        return all(s.options.ordered for s in self.stages)

    @property
    def on_ray(self) -> bool:
        return self.pool in ("tasks", "actors")

    def calls(self, keys: Sequence[str]) -> list[CallSpec]:
        """What a worker needs to apply each fused stage (``keys``: their content keys).

        On Ray the outputs of the last stage that makes values (a filter passes on what
        it was given) leave the worker, so that stage checks each one pickles: an output
        that cannot is its item's error, under its ``on_error`` (issue 12)."""
        makers = [i for i, s in enumerate(self.stages) if s.kind != "filter"]
        last = makers[-1] if makers and self.on_ray else -1
        return [_call(s, key, i == last) for i, (s, key) in enumerate(zip(self.stages, keys))]

    def describe(self) -> list[str]:
        """The plan of this stage, in a few lines."""
        where = {"caller": "in the caller's thread", "threads": f"on {self.workers} threads",
                 "tasks": f"on Ray tasks x{self.workers}",
                 "actors": f"on Ray actors x{self.workers}"}[self.pool]
        lines = [f"{self.name}  {where} ({self.workers_note})"]
        if self.on_ray:
            env = _env_text(self.runtime_env)
            lines.append(f"   per worker {demand_text(to_demand(self.resources))}; runtime_env: "
                         f"{env}; retries {self.retries}"
                         + "; kept warm" * self.keep_warm)
        lines.append(f"   blocks: {self._blocks()}; {self.in_flight} call"
                     f"{'s' * (self.in_flight != 1)} in flight")
        timeouts = [f"{s.name} {s.options.timeout:g} s" for s in self.stages if s.options.timeout]
        if timeouts:
            lines.append(f"   timeout per call: {', '.join(timeouts)}")
        return lines

    def _blocks(self) -> str:
        size = f"{self.chunk_size} items" if self.chunk_size else \
            f"up to {self.block_bytes / MIB:g} MiB, {BLOCK_SECONDS:g} s of work or " \
            f"{MAX_BLOCK_ITEMS} items, sized from what flows"
        return size + (f"; batches of {self.batch_size}" if self.batch_size else "")


def _env_text(env: Env) -> str:
    if isinstance(env, PendingEnv):
        return f"{env.operator}'s own, decided when the run starts (built only if the nodes " \
            "lack its packages; explain() builds nothing)"
    return "none" if env is None else ", ".join(sorted(env))


Step = StagePlan | Regroup


@dataclass(frozen=True)
class Plan:
    """Every step of a run, in order; ``str(plan)`` explains it."""

    steps: tuple[Step, ...]
    cluster: ClusterView | None = None
    budget_bytes: int | None = None  # blocks alive at once in a Ray segment, in bytes
    notes: tuple[str, ...] = ()  # said as RuntimeWarnings when the plan runs
    release: tuple[str, ...] = ()  # idle warm pools (keys) in the way: released before running
    crowded: bool = False  # laid out on what was free, others holding what the run wanted

    def __str__(self) -> str:
        count = sum(len(s.stages) for s in self.steps if isinstance(s, StagePlan))
        lines = [f"plan: {count} stage{'s' * (count != 1)} in {len(self.steps)} "
                 f"step{'s' * (len(self.steps) != 1)}"
                 + (f", on a Ray cluster of {self.cluster.describe()}" if self.cluster else "")]
        for i, step in enumerate(self.steps, 1):
            text = step.describe() if isinstance(step, StagePlan) else [f"{step.name}  in the driver"]
            lines += [f"  {i}. {text[0]}", *(f"  {line}" for line in text[1:])]
        if self.budget_bytes is not None and self.cluster is not None:
            lines.append(f"  Ray: at most {self.budget_bytes / MIB:,.0f} MiB of blocks alive "
                         f"({OBJECT_STORE_FRACTION:.0%} of the object store)")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def make_plan(steps: Sequence[Stage | Regroup], cluster: ClusterView | None = None,
              env_of: EnvOf | None = None, held: Sequence[Held] = ()) -> Plan:
    """Decide how ``steps`` run. ``held``: this driver's idle warm pools outside this
    run, oldest first; one that leaves a stage no worker is released (``Plan.release``)."""
    env_of = env_of or (lambda stage: None)
    facts = {id(s): _ray_facts(s, env_of) for s in steps
             if isinstance(s, Stage) and s.options.backend == "ray"}
    if facts and cluster is None:
        raise PipelineError("a Ray stage needs the cluster to be planned; connect to Ray first")
    groups = _fuse(steps, facts)
    planned: list[Step] = [g if isinstance(g, Regroup) else _local_plan(g) for g in groups]
    if not facts or cluster is None:
        return Plan(tuple(planned))
    ctx = _Context(cluster, list(held))
    for start, end in _ray_runs(groups):
        run = [g for g in groups[start:end] if not isinstance(g, Regroup)]
        planned[start:end] = _plan_ray(run, facts, ctx)
    return Plan(tuple(planned), cluster, int(cluster.object_store_bytes * OBJECT_STORE_FRACTION),
                tuple(ctx.notes), tuple(h.key for h in held if h not in ctx.kept), ctx.crowded)


@dataclass
class _Context:
    """What planning a pipeline's Ray runs shares: the cluster, the idle warm pools still
    kept, the notes, and whether a run had to make do with what was free."""

    cluster: ClusterView
    kept: list[Held]
    notes: list[str] = field(default_factory=list)
    crowded: bool = False


# --- fusion -------------------------------------------------------------------------


@dataclass(frozen=True)
class _RayFacts:
    resources: RayResources
    env: Env
    retries: int


def _ray_facts(stage: Stage, env_of: EnvOf) -> _RayFacts:
    retries = stage.options.max_retries
    return _RayFacts(ray_resources(stage), env_of(stage),
                     DEFAULT_RETRIES if retries is None else retries)


def ray_resources(stage: Stage) -> RayResources:
    """The operator's own resources (a plain function: one CPU), then the stage's overrides."""
    fn, opts = stage.fn, stage.options
    res: RayResources = {"num_cpus": 1.0}
    if isinstance(fn, Operator):
        spec = fn.spec.resources
        res = {"num_cpus": spec.num_cpus, "num_gpus": spec.num_gpus}
        if spec.memory:
            res["memory"] = spec.memory
    if opts.num_cpus is not None:
        res["num_cpus"] = opts.num_cpus
    if opts.num_gpus is not None:
        res["num_gpus"] = opts.num_gpus
    if opts.memory is not None:
        res["memory"] = opts.memory
    if opts.resources:
        res["resources"] = dict(opts.resources)
    if not res.get("num_gpus"):
        res.pop("num_gpus", None)
    return res


def to_demand(res: RayResources) -> dict[str, float]:
    """Ray's scheduling view of one worker: ``{"CPU": 1, "bare": 1}`` (zeros dropped)."""
    demand = {"CPU": res.get("num_cpus", 1.0), "GPU": res.get("num_gpus", 0.0),
              "memory": float(res.get("memory", 0)), **res.get("resources", {})}
    return {k: float(v) for k, v in demand.items() if v}


def _fuse(steps: Sequence[Stage | Regroup], facts: dict[int, _RayFacts]
          ) -> list[list[Stage] | Regroup]:
    groups: list[list[Stage] | Regroup] = []
    for step in steps:
        last = groups[-1] if groups else None
        if isinstance(step, Stage) and isinstance(last, list) and _fusable(last, step, facts):
            last.append(step)
        else:
            groups.append([step] if isinstance(step, Stage) else step)
    return groups


def _fusable(group: list[Stage], stage: Stage, facts: dict[int, _RayFacts]) -> bool:
    """Whether ``stage`` can run in the same call as ``group`` (never across envs).

    On Ray, as Ray Data fuses: tasks into tasks of the same size, and tasks into a
    following actor stage; nothing after an actor stage (operator_fusion.py). Resources,
    env and retries must be equal: Ray Data once dropped a fused map's runtime_env
    (review on PR #64302).
    """
    prev, o, p = group[-1], stage.options, group[-1].options
    if not o.fuse or o.backend != p.backend:
        return False
    if _sizes_differ(group, stage) or sum(s.is_batch for s in (*group, stage)) > 1:
        return False
    if o.backend == "local":
        return True
    if o.backend == "thread":
        return o.num_worker == p.num_worker
    if prev.is_class or facts[id(prev)] != facts[id(stage)]:
        return False
    return p.num_worker in (None, o.num_worker) if stage.is_class else \
        p.num_worker == o.num_worker


def _sizes_differ(group: list[Stage], stage: Stage) -> bool:
    for key in ("chunk_size", "block_bytes"):
        values = {getattr(s.options, key) for s in (*group, stage)} - {None}
        if len(values) > 1:
            return True
    return False


# --- workers, sizes and in-flight windows ---------------------------------------------


def _common(group: list[Stage], key: str) -> Any:
    return next((getattr(s.options, key) for s in reversed(group)
                 if getattr(s.options, key) is not None), None)


def _batch_size(group: list[Stage]) -> int | None:
    return next((s.options.batch_size or DEFAULT_BATCH_SIZE for s in group if s.is_batch), None)


def _base_plan(group: list[Stage], pool: Pool, workers: int, note: str,
               in_flight: int) -> StagePlan:
    return StagePlan(
        stages=tuple(group), pool=pool, workers=workers, workers_note=note, resources={},
        runtime_env=None, retries=0, in_flight=in_flight,
        chunk_size=_common(group, "chunk_size"),
        block_bytes=_common(group, "block_bytes") or DEFAULT_BLOCK_BYTES,
        batch_size=_batch_size(group), keep_warm=_keep_warm(group),
        startup_timeout=_startup_timeout(group))


def _keep_warm(group: list[Stage]) -> bool:
    return any(s.options.keep_warm for s in group)


def _startup_timeout(group: list[Stage]) -> float:
    timeout: float = _common(group, "startup_timeout") or DEFAULT_STARTUP_TIMEOUT
    return timeout


def _local_plan(group: list[Stage]) -> StagePlan:
    """A stage in the caller's thread or on threads (a Ray group is replaced later)."""
    if group[0].options.backend == "local":
        return _base_plan(group, "caller", 1, "the caller", 1)
    asked = group[0].options.num_worker
    workers = asked or min(32, (os.cpu_count() or 1) + 4)
    note = f"num_worker={asked}" if asked else "default: CPUs + 4, at most 32"
    return _base_plan(group, "threads", workers, note, THREAD_IN_FLIGHT_PER_WORKER * workers)


def _ray_runs(groups: list[list[Stage] | Regroup]) -> list[tuple[int, int]]:
    """(start, end) of each run of consecutive Ray groups, last run first (so the
    caller can replace slices without shifting the others)."""
    runs: list[tuple[int, int]] = []
    for i, g in enumerate(groups):
        on_ray = isinstance(g, list) and g[0].options.backend == "ray"
        if on_ray and runs and runs[-1][1] == i:
            runs[-1] = (runs[-1][0], i + 1)
        elif on_ray:
            runs.append((i, i + 1))
    return runs[::-1]


def _plan_ray(run: list[list[Stage]], facts: dict[int, _RayFacts], ctx: _Context
              ) -> list[StagePlan]:
    """Plan stages that stream into each other on Ray: each must fit some node, and the
    actors of stages that run at once must leave room for the tasks (else they run one
    after another); every choice the user did not make is said in a note."""
    cluster = ctx.cluster
    demands = [to_demand(facts[id(g[-1])].resources) for g in run]
    for group, demand in zip(run, demands):
        if not fits_alone(demand, cluster.nodes):
            raise PipelineError(
                f"{_names(group)} needs {demand_text(demand)} per worker and no node of the "
                f"cluster has that ({cluster.describe()}) — lower "
                "num_cpus=/num_gpus=/memory=/resources= or add a node that has them")
    _check_chunk_sizes(run)
    shape = Shape(tuple(demands), tuple(any(s.is_class for s in g) for g in run),
                  tuple(_wanted(g) for g in run),
                  tuple(_keep_warm(g) for g in run))
    found = _placed(run, shape, ctx)
    ctx.crowded = ctx.crowded or found.on_free
    ctx.notes += _layout_notes(run, shape, found, cluster, bool(ctx.kept))
    return [_ray_plan(run[i], facts, found.counts[i], shape.wants[i], number, len(members) > 1,
                      i in found.cold)
            for number, members in enumerate(found.phases) for i in members]


def _check_chunk_sizes(run: list[list[Stage]]) -> None:
    """Blocks are cut once for the stages of a Ray run, before the first: a later stage's
    own ``chunk_size=`` could not be honoured, so it is refused (issue 12)."""
    first = _common(run[0], "chunk_size")
    for group in run[1:]:
        size = _common(group, "chunk_size")
        if size is not None and size != first:
            raise InvalidOperator(
                f"chunk_size={size} on {_names(group)}: the Ray stages from "
                f"{_names(run[0])} to it run together and share blocks cut once, before "
                f"{_names(run[0])} — pass chunk_size= to {_names(run[0])} (it then applies to "
                "all of them) or drop it here")


def _placed(run: list[list[Stage]], shape: Shape, ctx: _Context) -> Layout:
    """The run laid out; idle warm pools that leave a stage no worker are released,
    oldest first, when releasing them all would give every stage one."""
    found = _laid(shape, ctx.cluster, ctx.kept)
    if 0 not in found.counts or 0 in _laid(shape, ctx.cluster, []).counts:
        return found
    starved = [_names(run[i]) for i, n in enumerate(found.counts) if n == 0]
    while 0 in found.counts:
        pool = ctx.kept.pop(0)
        ctx.notes.append(
            f"the idle warm pool of {pool.name} ({pool.count} actor"
            f"{'s' * (pool.count != 1)}, each {demand_text(pool.demand)}), kept warm by an "
            f"earlier run, leaves {' and '.join(starved)} no room: it is released (the next "
            f"run of {pool.name} starts its actors again)")
        found = _laid(shape, ctx.cluster, ctx.kept)
    return found


def _laid(shape: Shape, cluster: ClusterView, kept: Sequence[Held]) -> Layout:
    """Laid out on the cluster's totals, or on what is free now when that cannot hold
    one worker of each stage of a phase (other actors or jobs hold the rest)."""
    found = shape.layout(_room(cluster.nodes, kept))
    if cluster.free is None:
        return found
    now = _room(cluster.free, kept)
    return found if shape.fits_at_once(found, now) else replace(shape.layout(now), on_free=True)


def _room(nodes: Sequence[Mapping[str, float]], kept: Sequence[Held]) -> Nodes:
    room = Nodes(nodes)
    for pool in kept:
        for _ in range(pool.count):
            room.place(pool.demand)
    return room


def _layout_notes(run: list[list[Stage]], shape: Shape, found: Layout, cluster: ClusterView,
                  warm_pools: bool) -> list[str]:
    """What the layout did that the user did not ask for, one note each."""
    notes = [] if len(found.phases) == 1 else [_sequential_note(run, shape, found, cluster)]
    for i, group in enumerate(run):
        note = _workers_note(group, i, shape, found, cluster, warm_pools)
        notes += [note] if note else []
    return notes + [_cold_note(run, shape, found, i) for i in found.cold]


def _workers_note(group: list[Stage], i: int, shape: Shape, found: Layout,
                  cluster: ClusterView, warm_pools: bool) -> str | None:
    """Why stage ``i`` has fewer workers than asked, or none that can start now."""
    asked, count, demand = _common(group, "num_worker"), found.counts[i], shape.demands[i]
    if count == 0:
        return (f"{_names(group)}: each worker needs {demand_text(demand)} and the cluster has "
                f"{cluster.room(demand)} (actors or tasks outside this run hold the rest): the "
                "stage waits for them, and fails if none of its workers can start within "
                f"startup_timeout={_startup_timeout(group):g} s")
    if not asked or count >= asked:
        return None
    shared = ", shared with the stages that run at the same time" * (
        len(found.phase_of(i)) > 1)
    beside = " beside idle warm pools of this driver (release_warm_pools() frees them)" * \
        warm_pools
    return (f"{_names(group)}: num_worker={asked} asked, {count} given — each worker needs "
            f"{demand_text(demand)} and the cluster has {cluster.room(demand, found.on_free)}"
            f"{shared}{beside}; lower num_worker= or the stage's resources, or add nodes")


def _cold_note(run: list[list[Stage]], shape: Shape, found: Layout, i: int) -> str:
    phase = found.phases.index(found.phase_of(i))
    later = [_names(run[j]) for j in found.phases[phase + 1]]
    s = "s" * (len(later) == 1)
    return (f"{_names(run[i])}: keep_warm=True, but its actors are let go when its blocks are "
            f"done: {' and '.join(later)}, which run{s} after it, need{s} what they hold "
            f"({demand_text(shape.demands[i])})")


def _names(group: Sequence[Stage]) -> str:
    return " + ".join(s.name for s in group)


def _wanted(group: list[Stage]) -> int:
    asked: int | None = _common(group, "num_worker")
    return asked or MAX_DEFAULT_WORKERS


def _ray_plan(group: list[Stage], facts: dict[int, _RayFacts], workers: int, wanted: int,
              phase: int, shared: bool, cold: bool) -> StagePlan:
    fact = facts[id(group[-1])]
    asked = _common(group, "num_worker")
    if workers == 0:
        note = "none fits in what is free now; one waits for room"
    elif asked and workers < asked:
        beside = " beside the stages that run with it" if shared else ""
        note = f"num_worker={asked} asked; {workers} fit{'s' * (workers == 1)}{beside}"
    elif asked:
        note = f"num_worker={asked}"
    else:
        note = f"default: as many as fit at once, at most {wanted}"
    pool: Pool = "actors" if any(s.is_class for s in group) else "tasks"
    workers = max(1, workers)  # a stage with no room waits for it (the notes say so)
    base = _base_plan(group, pool, workers, note, RAY_IN_FLIGHT_PER_WORKER * workers)
    return replace(base, resources=fact.resources, runtime_env=fact.env,
                   retries=fact.retries, phase=phase, keep_warm=base.keep_warm and not cold)


def _sequential_note(run: list[list[Stage]], shape: Shape, found: Layout,
                     cluster: ClusterView) -> str:
    first, second = found.phases[0][-1], found.phases[1][0]
    names = [_names(run[i]) for i in (first, second)]
    where = f"what is free now of {cluster.describe()}" if found.on_free else \
        cluster.describe()
    return (f"{names[0]} (each worker {demand_text(shape.demands[first])}) and {names[1]} (each "
            f"{demand_text(shape.demands[second])}) cannot both hold a worker at once on "
            f"{where}: they run one after another, the blocks between them "
            "waiting in Ray's object store (not in the driver)")


def _call(stage: Stage, key: str, check_output: bool) -> CallSpec:
    o = stage.options
    batch = (o.batch_size or DEFAULT_BATCH_SIZE) if stage.is_batch else None
    spec: CallSpec = {"key": key, "kind": stage.kind, "name": stage.name,
                      "on_error": o.on_error, "timeout": o.timeout, "batch_size": batch,
                      "check_output": check_output}
    return spec
