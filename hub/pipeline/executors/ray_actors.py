"""A pool of Ray actors for one class stage: each builds the operator once.

Unlike ``ray.util.ActorPool`` (which stops at the first dead actor), a killed
actor is restarted by Ray (``max_restarts=-1``) and its chunks are retried
(``max_task_retries``); work goes only to actors whose setup finished, so an
actor that cannot be placed never blocks the stage, and a constructor that
fails stops the stage with its error instead of hanging.
"""

from __future__ import annotations

import functools
import os
from typing import Any

from ..._exceptions import PipelineError
from .._stage import Outcome, Stage, run_chunk
from ._base import Chunk
from .ray_common import Job, RayBackend


class StageWorker:
    """The actor: holds one stage, builds it in ``setup`` (and after a restart, lazily)."""

    def __init__(self, stage: Stage) -> None:
        self.stage = stage

    def setup(self) -> int:
        self.stage.build()
        return os.getpid()

    def run(self, items: list[Any]) -> list[Outcome]:
        return run_chunk(self.stage, items)


class ActorPool(RayBackend):
    """``size`` actors; each chunk goes to the ready actor with the least work."""

    def __init__(self, stage: Stage, options: dict[str, Any], size: int) -> None:
        super().__init__(stage)
        actor = _remote_worker().options(**options, max_restarts=-1, max_task_retries=self.retries)
        self.actors = [actor.remote(stage) for _ in range(size)]
        self.starting = {a.setup.remote(): i for i, a in enumerate(self.actors)}
        self.load: dict[int, int] = {}  # ready actor -> chunks in flight

    def submit(self, chunk: Chunk) -> Job:
        self._await_ready()
        worker = min(self.load, key=self.load.__getitem__)
        self.load[worker] += 1
        ref = self.actors[worker].run.remote(chunk[1])
        return Job(chunk[0], len(chunk[1]), ref, worker)

    def result(self, job: Job) -> list[Outcome]:
        self.load[job.worker] -= 1
        return self.fetch(job)

    def close(self) -> None:
        for actor in self.actors:
            self.ray.kill(actor)
        self.actors, self.starting = [], {}

    def _await_ready(self) -> None:
        """Promote actors whose setup finished; wait for the first one if none is ready."""
        if not self.starting:
            return
        timeout = 0 if self.load else self.stage.options.startup_timeout
        done, _ = self.ray.wait(list(self.starting), num_returns=1, timeout=timeout)
        if not done and not self.load:
            raise PipelineError(
                f"{self.stage.name}: no actor started within {timeout:g} s; the cluster has "
                f"{self.ray.available_resources()} free — lower num_cpus=/num_gpus=/num_worker= "
                "or add nodes"
            )
        for ref in done:
            self._promote(ref)

    def _promote(self, ref: Any) -> None:
        worker = self.starting.pop(ref)
        try:
            self.ray.get(ref)
        except self.ray.exceptions.RayError as exc:
            cause = getattr(exc, "cause", None) or exc
            raise PipelineError(
                f"{self.stage.name}: the operator could not be constructed on a Ray actor: "
                f"{cause!r} — fix its constructor arguments or its environment"
            ) from exc
        self.load[worker] = 0


@functools.cache
def _remote_worker() -> Any:
    import ray

    return ray.remote(StageWorker)
