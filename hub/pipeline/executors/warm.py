"""Actor pools kept warm between pipeline runs in one driver (``keep_warm=True``).

A class stage's actors normally die with its run. Kept warm, they wait idle (holding
their resources) for the next run of the same stage, which then pays no model load.
The registry lives as long as the driver's Ray connection, like the actors it holds;
``release_warm_pools()`` frees them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .._plan import RayResources, to_demand


@dataclass
class ActorSet:
    """Idle actors of one stage and what each holds."""

    actors: list[Any]
    resources: RayResources


class WarmPools:
    """Idle actor pools by key: the class stage's content, resources, env and size."""

    def __init__(self) -> None:
        self._idle: dict[str, ActorSet] = {}
        self._job: Any = None
        self._lock = threading.Lock()

    def take(self, ray: Any, key: str) -> ActorSet | None:
        with self._lock:
            self._same_job(ray)
            return self._idle.pop(key, None)

    def give(self, ray: Any, key: str, actors: ActorSet) -> None:
        with self._lock:
            self._same_job(ray)
            old = self._idle.pop(key, None)
            self._idle[key] = actors
        if old is not None:
            _kill(ray, old.actors)

    def held(self, ray: Any, owners: Iterable[str] = ()) -> list[dict[str, float]]:
        """What the idle pools hold, one demand per actor, except the pools of the class
        stages ``owners`` (a run about to take or replace them)."""
        with self._lock:
            self._same_job(ray)
            skip = set(owners)
            return [to_demand(s.resources) for k, s in self._idle.items()
                    if k.split("|", 1)[0] not in skip for _ in s.actors]

    def release(self, ray: Any, matching: str = "") -> int:
        """Kill the idle pools whose key starts with ``matching`` (all by default)."""
        with self._lock:
            gone = [k for k in self._idle if k.startswith(matching)]
            sets = [self._idle.pop(k) for k in gone]
        for actor_set in sets:
            _kill(ray, actor_set.actors)
        return sum(len(s.actors) for s in sets)

    def _same_job(self, ray: Any) -> None:
        """A new Ray connection (after ``ray.shutdown()``) has none of the old actors."""
        job = ray.get_runtime_context().get_job_id()
        if job != self._job:
            self._idle.clear()
            self._job = job


def _kill(ray: Any, actors: list[Any]) -> None:
    for actor in actors:
        ray.kill(actor)


# The driver's pools, like the Ray connection they belong to: one per process.
WARM_POOLS = WarmPools()


def release_warm_pools() -> int:
    """Kill every actor kept warm by ``keep_warm=True`` stages; returns how many."""
    import ray

    if not ray.is_initialized():
        return 0
    return WARM_POOLS.release(ray)
