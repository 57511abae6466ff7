"""Lock one operator's third-party requirements for a target (``hub lock``)."""

from __future__ import annotations

from hub import OperatorSpec

from ._lock import Lock
from ._planner import Planner
from ._target import Target


def lock_operator(spec: OperatorSpec, *, target: Target | None = None,
                  planner: Planner | None = None) -> Lock:
    """The (cached) lock of an operator's third-party requirements for ``target`` (the
    connected cluster's nodes that can run it, or a bare node like this driver)."""
    planner = planner or Planner()
    return planner.lock([spec], planner.scope([spec], target=target))
