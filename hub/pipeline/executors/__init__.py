"""Executors: a segment of the plan on the caller's thread, on a thread pool, or on Ray."""

from __future__ import annotations

import importlib

from .._plan import StagePlan
from ._base import Executor, Window
from .local import LocalExecutor
from .threads import ThreadExecutor

# Ray is imported only when a stage runs on it.
_CLASSES = {
    "caller": "hub.pipeline.executors.local:LocalExecutor",
    "threads": "hub.pipeline.executors.threads:ThreadExecutor",
    "tasks": "hub.pipeline.executors.ray_executor:RayExecutor",
    "actors": "hub.pipeline.executors.ray_executor:RayExecutor",
}


def make_executor(plan: StagePlan, total: int | None = None) -> Executor:
    """A fresh executor for one planned stage (``total``: the input's length, if known)."""
    module, _, name = _CLASSES[plan.pool].partition(":")
    cls: type[Executor] = getattr(importlib.import_module(module), name)
    return cls([plan], total)


__all__ = ["Executor", "LocalExecutor", "ThreadExecutor", "Window", "make_executor"]
