"""What a Ray cluster can hold at once: placing workers of concurrent stages on nodes.

Pure logic over resource dicts (``{"CPU": 2, "bare": 1}``), so the plan is tested
without Ray. Placement is first-fit, one worker at a time, which is how a worker that
asks for ``{"CPU": 1, "bare": 1}`` must land: all of it on one node.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Demand = Mapping[str, float]  # what one worker holds, by Ray resource name
MAX_DEFAULT_WORKERS = 16  # a stage with no num_worker= fills the cluster, up to this
_IGNORED = ("object_store_memory",)  # not a scheduling resource of a task or actor


@dataclass(frozen=True)
class Held:
    """An idle warm actor pool of this driver: ``count`` actors holding ``demand`` each."""

    key: str
    name: str  # the stage, for messages
    demand: Demand
    count: int


@dataclass(frozen=True)
class ClusterView:
    """The alive nodes' total resources, what they have free now, and the object store.

    ``free`` counts the actors of this driver's idle warm pools as free (the plan decides
    whether they stay); None when unknown, as if nothing outside the run held anything.
    """

    nodes: tuple[Mapping[str, float], ...]
    object_store_bytes: float = 0.0
    free: tuple[Mapping[str, float], ...] | None = None

    @classmethod
    def from_ray(cls, ray: Any, idle: Sequence[Held] = ()) -> ClusterView:
        alive = [n for n in ray.nodes() if n.get("Alive")]
        nodes = tuple(dict(n["Resources"]) for n in alive)
        store = sum(n.get("object_store_memory", 0.0) for n in nodes)
        free = _free_now(ray, [n["NodeID"] for n in alive])
        if free is not None:
            for pool in idle:
                for _ in range(pool.count):
                    free.give(pool.demand, nodes)
        return cls(nodes, store, None if free is None else tuple(free.free))

    def describe(self) -> str:
        """``2 nodes: {CPU: 1}, {CPU: 1, bare: 1}``, without Ray's bookkeeping entries."""
        shown = [", ".join(f"{k}: {_number(v)}" for k, v in sorted(n.items())
                           if not k.startswith("node:") and k not in (*_IGNORED, "memory"))
                 for n in self.nodes]
        return f"{len(self.nodes)} node{'s' * (len(self.nodes) != 1)}: " + \
            ", ".join(f"{{{s}}}" for s in shown)

    def room(self, demand: Demand, now: bool = True) -> str:
        """``{CPU: 0} free now, of {CPU: 2}`` (``now``, if known) or ``{CPU: 2} in all``:
        the cluster in the resources ``demand`` names."""
        total = _sum(self.nodes, demand)
        if self.free is None or not now:
            return f"{demand_text(total)} in all"
        return f"{demand_text(_sum(self.free, demand), zeros=True)} free now, of " \
            f"{demand_text(total)}"


def _free_now(ray: Any, node_ids: list[str]) -> Nodes | None:
    """Each node's available resources. Ray has no public per-node form (its
    ``available_resources()`` sums the nodes), so this reads the private one and
    plans on totals alone if it is gone. Ray's view lags the truth by ~0.1 s."""
    try:
        from ray._private.state import available_resources_per_node

        # Ray's private API is untyped.
        per_node: dict[str, dict[str, float]] = \
            available_resources_per_node()  # type: ignore[no-untyped-call,unused-ignore]
    except Exception:  # noqa: BLE001 - another Ray version: plan on totals
        return None
    return Nodes([per_node.get(i, {}) for i in node_ids])


def _sum(nodes: Sequence[Mapping[str, float]], demand: Demand) -> dict[str, float]:
    return {k: sum(n.get(k, 0.0) for n in nodes) for k in demand}


def demand_text(demand: Demand, zeros: bool = False) -> str:
    shown = {k: v for k, v in demand.items() if v or zeros}
    return "{" + ", ".join(f"{k}: {_number(v)}" for k, v in sorted(shown.items())) + "}" \
        if shown else "{nothing}"


def _number(value: float) -> str:
    return f"{value:g}" if value < 1e6 else f"{value / 2**30:.1f} GiB"


class Nodes:
    """Free resources per node while workers are placed one by one."""

    def __init__(self, nodes: Sequence[Mapping[str, float]]) -> None:
        self.free = [{k: v for k, v in n.items() if k not in _IGNORED} for n in nodes]

    def place(self, demand: Demand) -> bool:
        """Take ``demand`` from the first node that has all of it; False if none has."""
        for node in self.free:
            if all(node.get(k, 0.0) >= v - 1e-9 for k, v in demand.items()):
                for k, v in demand.items():
                    node[k] = node.get(k, 0.0) - v
                return True
        return False

    def give(self, demand: Demand, totals: Sequence[Mapping[str, float]]) -> None:
        """Return ``demand`` to the first node it came from as far as can be told (one
        whose total has room for it back): where an idle actor of this driver sits."""
        for node, total in zip(self.free, totals):
            if all(node.get(k, 0.0) + v <= total.get(k, 0.0) + 1e-9 for k, v in demand.items()):
                for k, v in demand.items():
                    node[k] = node.get(k, 0.0) + v
                return

    def copy(self) -> Nodes:
        clone = Nodes([])
        clone.free = [dict(n) for n in self.free]
        return clone


def fits_alone(demand: Demand, nodes: Sequence[Mapping[str, float]]) -> bool:
    """Whether one worker of this demand fits on some node of an empty cluster."""
    return Nodes(nodes).place(demand)


def phases(demands: Sequence[Demand], holds: Sequence[bool], nodes: Nodes) -> list[list[int]]:
    """Runs of consecutive stages that can run at the same time.

    Actors hold their resources for the whole run, tasks only while they run: a run of
    stages works when one actor of each actor stage fits, all at once, and each task
    stage still fits beside them (ray#44687: actors that take every CPU starve the
    tasks that feed them). A stage that does not fit even alone starts its own run
    (the caller checks ``fits_alone`` first and refuses it).
    """
    groups: list[list[int]] = []
    for i in range(len(demands)):
        if groups and _runs_together([*groups[-1], i], demands, holds, nodes):
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def _runs_together(members: list[int], demands: Sequence[Demand], holds: Sequence[bool],
                   nodes: Nodes) -> bool:
    trial = nodes.copy()
    actors_fit = all(trial.place(demands[i]) for i in members if holds[i])
    return actors_fit and _tasks_fit(members, demands, holds, trial)


def _tasks_fit(members: Sequence[int], demands: Sequence[Demand], holds: Sequence[bool],
               nodes: Nodes) -> bool:
    return all(nodes.copy().place(demands[i]) for i in members if not holds[i])


def allocate(demands: Sequence[Demand], wants: Sequence[int], holds: Sequence[bool],
             nodes: Nodes) -> list[int]:
    """Workers per stage of one run: an actor for each actor stage, then one more in
    turn to every actor stage that wants more while every task stage still fits beside
    them; then each task stage as many workers as fit in what the actors leave."""
    members = range(len(demands))
    counts = [int(holds[i] and nodes.place(demands[i])) for i in members]
    hungry = [i for i in members if holds[i] and counts[i] < wants[i]]
    while hungry:
        for i in list(hungry):
            trial = nodes.copy()
            placed = trial.place(demands[i]) and _tasks_fit(members, demands, holds, trial)
            if placed:
                nodes, counts[i] = trial, counts[i] + 1
            if not placed or counts[i] >= wants[i]:
                hungry.remove(i)
    for i in members:
        if not holds[i]:
            trial = nodes.copy()
            while counts[i] < wants[i] and trial.place(demands[i]):
                counts[i] += 1
    return counts


@dataclass(frozen=True)
class Layout:
    """The stages of one Ray run on the cluster: which run at the same time (phases),
    the workers of each (0: it cannot hold one), and the kept-warm actor stages whose
    actors must go after their phase, because a later phase needs what they hold."""

    phases: tuple[tuple[int, ...], ...]
    counts: tuple[int, ...]
    cold: tuple[int, ...]
    on_free: bool = False  # laid out on what is free now, not on the cluster's totals

    def phase_of(self, stage: int) -> tuple[int, ...]:
        """The stages that run at the same time as ``stage``, itself included."""
        return next(p for p in self.phases if stage in p)


@dataclass(frozen=True)
class Shape:
    """One Ray run's stages as placement sees them: what each worker holds, whether it
    is an actor (held for its whole phase), the workers wanted, and ``keep_warm``."""

    demands: tuple[Demand, ...]
    holds: tuple[bool, ...]
    wants: tuple[int, ...]
    warm: tuple[bool, ...]

    def layout(self, nodes: Nodes) -> Layout:
        """Phases and workers in ``nodes``; a warm pool stays only if later phases fit."""
        split = phases(self.demands, self.holds, nodes)
        counts = [0] * len(self.demands)
        cold: list[int] = []
        room = nodes
        for k, members in enumerate(split):
            got = allocate([self.demands[i] for i in members], [self.wants[i] for i in members],
                           [self.holds[i] for i in members], room.copy())
            for i, count in zip(members, got):
                counts[i] = count
            for i in (i for i in members if self.warm[i] and k + 1 < len(split)):
                kept = self._beside(room, i, counts[i], split[k + 1:])
                cold += [i] * (kept is None)
                room = kept or room
        return Layout(tuple(map(tuple, split)), tuple(counts), tuple(cold))

    def fits_at_once(self, found: Layout, nodes: Nodes) -> bool:
        """Whether ``nodes`` hold one worker of every stage of each phase of ``found``."""
        return all(_runs_together(list(p), self.demands, self.holds, nodes)
                   for p in found.phases)

    def _beside(self, room: Nodes, i: int, count: int, later: list[list[int]]) -> Nodes | None:
        """``room`` less stage ``i``'s ``count`` idle actors, if every later phase still runs."""
        trial = room.copy()
        if all(trial.place(self.demands[i]) for _ in range(count)) and \
                all(_runs_together(m, self.demands, self.holds, trial) for m in later):
            return trial
        return None
