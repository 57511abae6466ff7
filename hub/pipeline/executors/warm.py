"""Actor pools kept warm between pipeline runs in one driver (``keep_warm=True``).

A class stage's actors normally die with its run. Kept warm, they wait idle (holding
their resources) for the next run of the same stage, which then pays no model load.
The registry lives as long as the driver's Ray connection, like the actors it holds;
``release_warm_pools()`` frees them, and a run that needs what an idle pool holds
releases it (its plan says so).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .._capacity import Held
from .._plan import RayResources, to_demand

# Ray reports resources back as free ~0.1 s after a task ends or an actor is killed
# (measured here: 65 ms and 80 ms); a plan made sooner would see them as held.
SETTLE_SECONDS = 1.0


@dataclass
class ActorSet:
    """Idle actors of one stage, what each holds, and the stage's name."""

    actors: list[Any]
    resources: RayResources
    name: str


class WarmPools:
    """Idle actor pools by key (the class stage's content, resources, env and size), and
    when this driver last let Ray resources go."""

    def __init__(self) -> None:
        self._idle: dict[str, ActorSet] = {}
        self._job: Any = None
        self._lock = threading.Lock()
        self.freed_at = 0.0  # time.monotonic() of the last release of workers

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
            self.kill(ray, old.actors)

    def idle(self, ray: Any) -> list[Held]:
        """The idle pools, oldest first, as the plan counts them."""
        with self._lock:
            self._same_job(ray)
            return [Held(k, s.name, to_demand(s.resources), len(s.actors))
                    for k, s in self._idle.items()]

    def release(self, ray: Any, matching: str = "") -> int:
        """Kill the idle pools whose key starts with ``matching`` (all by default);
        returns how many actors."""
        return self._release(ray, lambda key: key.startswith(matching))

    def release_keys(self, ray: Any, keys: Iterable[str]) -> int:
        """Kill the idle pools of ``keys`` (a plan's ``release``); returns how many actors."""
        return self._release(ray, set(keys).__contains__)

    def _release(self, ray: Any, chosen: Callable[[str], bool]) -> int:
        with self._lock:
            sets = [self._idle.pop(k) for k in [k for k in self._idle if chosen(k)]]
        for actor_set in sets:
            self.kill(ray, actor_set.actors)
        return sum(len(s.actors) for s in sets)

    def kill(self, ray: Any, actors: list[Any]) -> None:
        for actor in actors:
            ray.kill(actor)
        self.touched()

    def touched(self) -> None:
        """This driver just let resources go (actors killed, a stage's tasks done)."""
        self.freed_at = time.monotonic()

    def settling(self) -> bool:
        """Whether resources this driver let go may still show as held."""
        return time.monotonic() - self.freed_at < SETTLE_SECONDS

    def _same_job(self, ray: Any) -> None:
        """A new Ray connection (after ``ray.shutdown()``) has none of the old actors."""
        job = ray.get_runtime_context().get_job_id()
        if job != self._job:
            self._idle.clear()
            self._job = job


# The driver's pools, like the Ray connection they belong to: one per process.
WARM_POOLS = WarmPools()


def release_warm_pools() -> int:
    """Kill every actor kept warm by ``keep_warm=True`` stages; returns how many."""
    import ray

    if not ray.is_initialized():
        return 0
    return WARM_POOLS.release(ray)
