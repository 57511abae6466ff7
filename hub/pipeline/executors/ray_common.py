"""Pieces the Ray backend shares: the connection, shipping stages, and Ray's errors."""

from __future__ import annotations

import functools
import hashlib
import inspect
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ..._exceptions import PipelineError
from ..._operator import Operator
from .. import _worker
from .._capacity import ClusterView
from .._plan import Env, EnvOf, PendingEnv, Plan, Regroup, StagePlan, make_plan, ray_resources
from .._stage import Stage
from .warm import WarmPools


def connect() -> Any:
    """The Ray the user initialised (``ray.init(address=...)``, RAY_ADDRESS), or a local one.

    A local Ray started here binds 127.0.0.1: it serves this machine only. The worker
    runtime is shipped by value, so workers need no opshub to run plain stages.
    """
    import ray

    if not ray.is_initialized():
        if os.environ.get("RAY_ADDRESS"):
            ray.init()
        else:
            ray.init(_node_ip_address="127.0.0.1")
    pickler().register_pickle_by_value(_worker)
    return ray


def pickler() -> Any:
    """Ray's cloudpickle (untyped, hence Any)."""
    import ray.cloudpickle

    return ray.cloudpickle


def settled_plan(ray: Any, steps: Sequence[Stage | Regroup], env_of: EnvOf,
                 owners: set[str], pools: WarmPools) -> Plan:
    """The plan against the cluster now. Ray shows what this driver just let go as held
    for a moment (``SETTLE_SECONDS``): a plan crowded by that is made again once it shows
    as free. Idle warm pools of this run's own class stages are its to take or replace."""
    while True:
        idle = pools.idle(ray)
        plan = make_plan(steps, ClusterView.from_ray(ray, idle), env_of,
                         [h for h in idle if h.key.split("|", 1)[0] not in owners])
        if not (plan.crowded and pools.settling()):
            return plan
        time.sleep(0.05)


@dataclass(frozen=True)
class Shipped:
    """A stage pickled for Ray workers: its bytes and a key naming its content."""

    key: str
    blob: bytes


def ship(stage: Stage) -> Shipped:
    """Pickle what a worker builds for ``stage``; an unpicklable stage is a PipelineError
    naming the stage and the object, before anything runs (issue 12)."""
    try:
        blob: bytes = pickler().dumps(stage.fn_spec())
    except Exception as exc:
        culprit = _culprit(stage.fn)
        raise PipelineError(
            f"{stage.name} cannot be sent to Ray workers: {culprit or 'it'} cannot be pickled "
            f"({_worker.describe(exc)}) — create it inside the function, or use "
            "per_worker(cls, ...) so each worker builds it") from exc
    return Shipped(hashlib.sha256(blob).hexdigest()[:24], blob)


def _culprit(fn: Any) -> str | None:
    """Which object a function, class stage or operator refers to that cannot be pickled."""
    for label, value in _references(fn):
        try:
            pickler().dumps(value)
        except Exception:  # noqa: BLE001 - this is the one
            return f"{label} (a {type(value).__module__}.{type(value).__qualname__})"
    return None


def _references(fn: Any) -> Iterator[tuple[str, Any]]:
    args = getattr(fn, "args", None)
    kwargs = getattr(fn, "kwargs", None)
    if isinstance(args, tuple) and isinstance(kwargs, dict):  # per_worker(...), an Operator
        yield from ((f"argument {i}", a) for i, a in enumerate(args))
        yield from ((f"keyword argument {k!r}", v) for k, v in kwargs.items())
        return
    if inspect.isfunction(fn):
        found = inspect.getclosurevars(fn)
        yield from ((f"the variable {k!r} it closes over", v) for k, v in found.nonlocals.items())
        yield from ((f"the global {k!r}", v) for k, v in found.globals.items())
        yield from (("a default argument", v) for v in fn.__defaults__ or ())
    elif hasattr(fn, "__dict__"):
        yield from ((f"its attribute {k!r}", v) for k, v in vars(fn).items())


def shipped_chain(plan: StagePlan, shipped: dict[int, Shipped]) -> Shipped:
    """The chain of a plan's fused stages, pickled once: its calls and each stage's blob."""
    parts = [shipped[id(s)] for s in plan.stages]
    calls = plan.calls([p.key for p in parts])
    blob: bytes = pickler().dumps((calls, [(p.key, p.blob) for p in parts]))
    return Shipped(hashlib.sha256(blob).hexdigest()[:24], blob)


def failure_text(ray: Any, exc: BaseException, plan: StagePlan, what: str) -> PipelineError:
    """Ray's exception for one call, as one PipelineError naming the stage and the fix."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, _worker.StageBuildError) or type(cause).__name__ == "StageBuildError":
        return PipelineError(
            f"{getattr(cause, 'stage', plan.name)}: the operator could not be built on a Ray "
            f"worker: {getattr(cause, 'error', cause)} — fix its arguments or its environment "
            "(its runtime_env, or what the nodes have installed)")
    if isinstance(exc, ray.exceptions.RuntimeEnvSetupError):
        return PipelineError(f"{plan.name}: Ray could not set up its runtime_env: "
                             f"{str(exc).strip().splitlines()[-1]} — check `hub env`")
    if isinstance(exc, ray.exceptions.RayTaskError):
        return PipelineError(f"{what} failed: {cause!r}")
    if isinstance(exc, (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError,
                        ray.exceptions.ObjectLostError)):
        hung = [f"{s.name} (timeout={s.options.timeout:g} s)" for s in plan.stages
                if s.options.timeout]
        hint = (f"; a call that ignores its timeout (stuck in C code) is killed with its "
                f"worker: {', '.join(hung)}") if hung else ""
        return PipelineError(
            f"{what}: its worker died and {plan.retries} retries did not help "
            f"({type(exc).__name__}){hint} — raise max_retries= or give the stage more "
            "memory")
    return PipelineError(f"{what} failed: {exc!r}")


def pending_env(stage: Stage) -> Env:
    """The stage's runtime_env as far as it is known without building anything: a hub
    operator's own is decided when the run starts (``explain()`` describes, no more)."""
    env = stage.options.runtime_env
    if env is None and isinstance(stage.fn, Operator):
        return PendingEnv(stage.fn.spec.name)
    return env or None


def stage_envs() -> Callable[[Stage], dict[str, Any] | None]:
    """:func:`stage_env` for the stages of one run: they share one planner, so pip's
    configuration and the hub's project list are read once per run, not per stage."""
    planner = functools.cache(_planner)  # made when a stage first needs one
    return functools.partial(stage_env, planner=planner)


def _planner() -> Any:
    from runtime_env import Planner

    return Planner()


def stage_env(stage: Stage, planner: Callable[[], Any]) -> dict[str, Any] | None:
    """The stage's runtime_env: the override, none, or the hub operator's own, made for the
    nodes that can run the stage (its resources pick them: a GPU stage gets a CUDA lock)."""
    env = stage.options.runtime_env
    if env is False:
        return None
    if env is not None or not isinstance(stage.fn, Operator):
        return env
    try:
        from runtime_env import stage_runtime_env
    except ImportError as exc:
        raise PipelineError(
            f"{stage.name}: cannot build the operator's runtime_env ({exc}); "
            "pass runtime_env=False to run it in the workers' own environment"
        ) from exc
    result: dict[str, Any] | None = stage_runtime_env(
        stage.fn.spec, ray_options=dict(ray_resources(stage)), planner=planner())
    return result
