"""Pipelines: chain functions and hub operators, run them in-process, on threads or on Ray.

>>> from hub.pipeline import DataCollection
>>> DataCollection.range(4).map(lambda x: x + 1).to_list()
[1, 2, 3, 4]
"""

from __future__ import annotations

from .._exceptions import ItemError, PipelineError
from ._collection import DataCollection
from ._ray_data import ray_data_class, ray_data_fn
from ._stage import ItemFailure, PerWorker, Stage, StageOptions, per_worker
from .executors import Executor, make_executor

__all__ = [
    "DataCollection",
    "Executor",
    "ItemError",
    "ItemFailure",
    "PerWorker",
    "PipelineError",
    "Stage",
    "StageOptions",
    "make_executor",
    "per_worker",
    "ray_data_class",
    "ray_data_fn",
]
