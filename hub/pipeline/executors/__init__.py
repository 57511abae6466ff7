"""Executors: the same stage on the caller's thread, on a thread pool, or on Ray."""

from __future__ import annotations

import importlib

from .._stage import Backend
from ._base import Executor, Window
from .local import LocalExecutor
from .threads import ThreadExecutor

# Ray is imported only when a stage runs on it.
_CLASSES = {
    "local": "hub.pipeline.executors.local:LocalExecutor",
    "thread": "hub.pipeline.executors.threads:ThreadExecutor",
    "ray": "hub.pipeline.executors.ray_executor:RayExecutor",
}


def make_executor(backend: Backend, num_worker: int | None = None) -> Executor:
    """A fresh executor for one stage run on ``backend``."""
    module, _, name = _CLASSES[backend].partition(":")
    cls: type[Executor] = getattr(importlib.import_module(module), name)
    return cls(num_worker)


__all__ = ["Executor", "LocalExecutor", "ThreadExecutor", "Window", "make_executor"]
