"""Workers of one Ray stage: a task pool for functions, an actor pool for classes.

Unlike ``ray.util.ActorPool`` (which stops at the first dead actor), a killed actor is
restarted by Ray (``max_restarts=-1``) and its calls are retried (``max_task_retries``);
work goes only to actors whose setup finished, so an actor that cannot be placed never
blocks the stage, and a constructor that fails stops the stage with its error.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass
from typing import Any

from ..._exceptions import PipelineError
from .. import _worker
from .._plan import StagePlan
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

    def has_room(self) -> bool:
        return len(self.running) < self.plan.in_flight

    def submit(self, block: Any, restart: int | None) -> Call:
        refs = self.remote.remote(self.chain.key, self.chain.blob, block, restart)
        call = _call(refs, self.together)
        self.running[call.meta] = call
        return call

    def done(self, call: Call) -> None:
        self.running.pop(call.meta, None)

    def starting(self) -> list[Any]:
        return []

    def check_started(self) -> float | None:
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
            raise PipelineError(
                f"{self.plan.name}: no actor started within {self.plan.startup_timeout:g} s; "
                f"the cluster has {self.ray.available_resources()} free — lower "
                "num_cpus=/num_gpus=/num_worker= or add nodes")
        return left

    def close(self) -> None:
        if self.plan.keep_warm and not any(self.load.values()):  # setups may still run
            self.warm.give(self.ray, self.warm_key, ActorSet(self.actors, self.plan.resources))
        else:
            for actor in self.actors:
                self.ray.kill(actor)
        self.actors, self.setups, self.load = [], {}, {}


@functools.cache
def _remote_task(ray: Any) -> Any:
    return ray.remote(_worker.run_task)


@functools.cache
def _remote_actor(ray: Any) -> Any:
    return ray.remote(_worker.StageActor)
