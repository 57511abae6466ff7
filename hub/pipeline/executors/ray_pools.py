"""Workers of one Ray stage: a task pool for functions, an actor pool for classes.

Unlike ``ray.util.ActorPool`` (which stops at the first dead actor), a killed actor is
restarted by Ray (``max_restarts=-1``) and its calls are retried (``max_task_retries``);
work goes only to actors whose setup finished, so an actor that cannot be placed never
blocks the stage, and a constructor that fails stops the stage with its error.

Neither pool waits forever for workers that cannot start: with no actor set up, or no
task finished, after ``startup_timeout`` while the cluster has no room for one worker,
the stage fails naming what it needs and what is free (issue 12).
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass
from typing import Any

from ..._exceptions import PipelineError
from .. import _worker
from .._capacity import ClusterView, Nodes, demand_text
from .._plan import PendingEnv, StagePlan, to_demand
from .ray_common import Shipped
from .warm import WARM_POOLS, ActorSet, WarmPools


@dataclass
class Call:
    """One submitted call: its results and the worker it went to. ``together``: one
    result holds the block and its meta (the driver fetches the block anyway: one get
    instead of two); else the block stays in the object store for the next stage."""

    out: Any
    meta: Any
    worker: int = -1
    together: bool = False


def _call(refs: Any, together: bool, worker: int = -1) -> Call:
    return Call(refs, refs, worker, True) if together else Call(refs[0], refs[1], worker)


def _options(plan: StagePlan) -> dict[str, Any]:
    options: dict[str, Any] = dict(plan.resources)
    # A pending env belongs to plans made by explain(), which never run.
    assert not isinstance(plan.runtime_env, PendingEnv), plan.runtime_env
    if plan.runtime_env:
        options["runtime_env"] = plan.runtime_env
    return options


class TaskPool:
    """Each block is one Ray task (retried by Ray when its worker process dies)."""

    def __init__(self, ray: Any, plan: StagePlan, chain: Shipped, together: bool = False
                 ) -> None:
        self.ray, self.plan, self.chain, self.together = ray, plan, chain, together
        self.remote = _remote_task(ray).options(
            **_options(plan), max_retries=plan.retries, num_returns=1 if together else 2)
        self.running: dict[Any, Call] = {}
        self.first_submit: float | None = None
        self.started = False  # a call finished, or the cluster had room when one was late

    def has_room(self) -> bool:
        return len(self.running) < self.plan.in_flight

    def submit(self, block: Any, restart: int | None) -> Call:
        refs = self.remote.remote(self.chain.key, self.chain.blob, block, restart)
        call = _call(refs, self.together)
        self.running[call.meta] = call
        self.first_submit = self.first_submit or time.monotonic()
        return call

    def done(self, call: Call) -> None:
        self.running.pop(call.meta, None)
        self.started = True

    def starting(self) -> list[Any]:
        return []

    def check_started(self) -> float | None:
        """Seconds left for a first call to finish (None once one has); past that, raise
        if the cluster has no room for one worker (its tasks cannot be scheduled), else
        stop watching (its calls run, only slowly)."""
        if self.started or self.first_submit is None:
            return None
        left = self.plan.startup_timeout - (time.monotonic() - self.first_submit)
        if left > 0:
            return left
        error = no_room(self.ray, self.plan, "no call finished")
        if error is not None:
            raise error
        self.started = True
        return None

    def close(self) -> None:
        for ref in self.running:
            self.ray.cancel(ref)
        self.running.clear()


class ActorPool:
    """``plan.workers`` actors; each block goes to the ready actor with the least work."""

    def __init__(self, ray: Any, plan: StagePlan, chain: Shipped, warm_key: str,
                 warm: WarmPools = WARM_POOLS, together: bool = False) -> None:
        self.ray, self.plan, self.chain, self.warm_key, self.warm = ray, plan, chain, warm_key, warm
        self.together = together
        found = warm.take(ray, warm_key) if plan.keep_warm else None
        self.actors = found.actors if found else [self._actor() for _ in range(plan.workers)]
        # Not retried: a restarted actor builds on its first call, and a killed pool's
        # pending setups would each log a retry.
        setup = [a.setup.options(max_task_retries=0) for a in self.actors]
        self.setups = {s.remote(chain.key, chain.blob): i for i, s in enumerate(setup)}
        self.load: dict[int, int] = {}  # ready actor -> calls in flight
        self.broken = False  # a setup failed: these actors are never kept warm
        self.per_actor = max(1, math.ceil(plan.in_flight / max(1, plan.workers)))
        self.created = time.monotonic()

    def _actor(self) -> Any:
        actor = _remote_actor(self.ray).options(
            **_options(self.plan), max_restarts=-1, max_task_retries=self.plan.retries)
        return actor.remote()

    def has_room(self) -> bool:
        return any(n < self.per_actor for n in self.load.values())

    def submit(self, block: Any, restart: int | None) -> Call:
        worker = min(self.load, key=self.load.__getitem__)
        self.load[worker] += 1
        method = self.actors[worker].run.options(num_returns=1 if self.together else 2)
        refs = method.remote(self.chain.key, self.chain.blob, block, restart)
        return _call(refs, self.together, worker)

    def done(self, call: Call) -> None:
        self.load[call.worker] -= 1

    def starting(self) -> list[Any]:
        return list(self.setups)

    def ready(self, ref: Any) -> None:
        """An actor finished its setup: it takes work from now on (or fails the stage)."""
        worker = self.setups.pop(ref)
        try:
            self.ray.get(ref)
        except self.ray.exceptions.RayError as exc:
            self.broken = True
            cause = getattr(exc, "cause", None) or exc
            raise PipelineError(
                f"{self.plan.name}: the operator could not be constructed on a Ray actor: "
                f"{getattr(cause, 'error', cause)} — fix its constructor arguments or its "
                "environment") from exc
        self.load[worker] = 0

    def check_started(self) -> float | None:
        """Seconds left for a first actor to start (None once one has); raise when none did."""
        if self.load or not self.setups:
            return None
        left = self.plan.startup_timeout - (time.monotonic() - self.created)
        if left <= 0:
            raise no_room(self.ray, self.plan, "no actor started") or PipelineError(
                f"{self.plan.name}: no actor started within startup_timeout="
                f"{self.plan.startup_timeout:g} s, though the cluster has room for one: its "
                "runtime_env or constructor is slow — raise startup_timeout= or check them")
        return left

    def close(self) -> None:
        """Kill the actors, or keep them warm: only healthy ones, none busy (setups of
        actors not yet ready may still run)."""
        if self.plan.keep_warm and not self.broken and not any(self.load.values()):
            self.warm.give(self.ray, self.warm_key,
                           ActorSet(self.actors, self.plan.resources, self.plan.name))
        else:
            self.warm.kill(self.ray, self.actors)
        self.actors, self.setups, self.load = [], {}, {}


def no_room(ray: Any, plan: StagePlan, what: str) -> PipelineError | None:
    """The error of a stage whose workers cannot start because the cluster has no room
    now for one (other actors or jobs hold it); None when it has room."""
    demand = to_demand(plan.resources)
    view = ClusterView.from_ray(ray)
    free = view.free if view.free is not None else (ray.available_resources(),)
    if Nodes(free).place(demand):
        return None
    return PipelineError(
        f"{plan.name}: {what} within startup_timeout={plan.startup_timeout:g} s: each worker "
        f"needs {demand_text(demand)} and the cluster has {view.room(demand)}, the rest held "
        "by actors or tasks outside this run — free them (release_warm_pools(), other jobs' "
        "actors), lower the stage's resources, or raise startup_timeout= if one call takes "
        "that long")


@functools.cache
def _remote_task(ray: Any) -> Any:
    return ray.remote(_worker.run_task)


@functools.cache
def _remote_actor(ray: Any) -> Any:
    return ray.remote(_worker.StageActor)
