"""Pipelines: chain functions and hub operators, run them in-process, on threads or on Ray.

>>> from hub.pipeline import DataCollection
>>> DataCollection.range(4).map(lambda x: x + 1).to_list()
[1, 2, 3, 4]
"""

from __future__ import annotations

from .._exceptions import ItemError, PipelineError
from ._capacity import ClusterView
from ._collection import DataCollection
from ._plan import Plan, Regroup, StagePlan, make_plan
from ._ray_data import ray_data_class, ray_data_fn
from ._stage import ItemFailure, PerWorker, Stage, StageOptions, per_worker
from .executors import Executor, make_executor
from .executors.warm import release_warm_pools

__all__ = [
    "ClusterView",
    "DataCollection",
    "Executor",
    "ItemError",
    "ItemFailure",
    "PerWorker",
    "PipelineError",
    "Plan",
    "Regroup",
    "Stage",
    "StageOptions",
    "StagePlan",
    "make_executor",
    "make_plan",
    "per_worker",
    "ray_data_class",
    "ray_data_fn",
    "release_warm_pools",
]
