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
class ClusterView:
    """The alive nodes' total resources and the object store, as the plan sees them."""

    nodes: tuple[Mapping[str, float], ...]
    object_store_bytes: float = 0.0

    @classmethod
    def from_ray(cls, ray: Any) -> ClusterView:
        nodes = tuple(dict(n["Resources"]) for n in ray.nodes() if n.get("Alive"))
        store = sum(n.get("object_store_memory", 0.0) for n in nodes)
        return cls(nodes, store)

    def describe(self) -> str:
        """``2 nodes: {CPU: 1}, {CPU: 1, bare: 1}``, without Ray's bookkeeping entries."""
        shown = [", ".join(f"{k}: {_number(v)}" for k, v in sorted(n.items())
                           if not k.startswith("node:") and k not in (*_IGNORED, "memory"))
                 for n in self.nodes]
        return f"{len(self.nodes)} node{'s' * (len(self.nodes) != 1)}: " + \
            ", ".join(f"{{{s}}}" for s in shown)


def demand_text(demand: Demand) -> str:
    return "{" + ", ".join(f"{k}: {_number(v)}" for k, v in sorted(demand.items())) + "}" \
        if demand else "{nothing}"


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
