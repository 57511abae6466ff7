"""Pieces the Ray task and actor backends share: the connection, jobs, results."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from ..._exceptions import PipelineError
from .._stage import Outcome, Stage


def connect() -> Any:
    """The Ray the user initialised (``ray.init(address=...)``, RAY_ADDRESS), or a local one.

    A local Ray started here binds 127.0.0.1: it serves this machine only.
    """
    import ray

    if not ray.is_initialized():
        if os.environ.get("RAY_ADDRESS"):
            ray.init()
        else:
            ray.init(_node_ip_address="127.0.0.1")
    return ray


@dataclass
class Job:
    """A chunk submitted to Ray: where it starts, how long it is, its result ref."""

    start: int
    size: int
    ref: Any
    worker: int = -1

    def describe(self, stage: Stage) -> str:
        return f"{stage.name} on items {self.start}..{self.start + self.size - 1}"


class RayBackend:
    """What the task and actor backends share: Ray, the stage, retries, and results."""

    def __init__(self, stage: Stage) -> None:
        self.ray = connect()
        self.stage = stage
        self.retries = stage.options.max_retries

    def fetch(self, job: Job) -> list[Outcome]:
        """The outcomes of one job; Ray's errors become one clear PipelineError."""
        ray = self.ray
        try:
            outcomes: list[Outcome] = ray.get(job.ref)
            return outcomes
        except ray.exceptions.RayTaskError as exc:
            raise PipelineError(f"{job.describe(self.stage)} failed: {exc.cause!r}") from exc
        except (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError,
                ray.exceptions.ObjectLostError) as exc:
            raise PipelineError(
                f"{job.describe(self.stage)}: its worker died and {self.retries} retries did "
                f"not help ({type(exc).__name__}); raise max_retries= or give the stage more "
                "memory"
            ) from exc

    def first_done(self, jobs: list[Job]) -> Job:
        """One finished job of ``jobs`` (waits for the first)."""
        ready, _ = self.ray.wait([job.ref for job in jobs], num_returns=1)
        return next(job for job in jobs if job.ref == ready[0])
