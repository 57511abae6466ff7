"""The Ray runtime_env of one pipeline stage: the public calls the pipeline uses.

Pass one :class:`Planner` for all the stages of a run (the pipeline does): it reads pip's
configuration and the hub's project list once. Its caches live on disk (surveys by node
set, locks by content), so a run costs one survey, and a second driver on the same
cluster none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hub import OperatorSpec
from hub.config import Settings

from ._planner import Planner, Ship
from ._resolvers import Resolver
from ._target import Target


def stage_runtime_env(spec: OperatorSpec, *, ray_options: Mapping[str, Any] | None = None,
                      target: Target | None = None, resolver: Resolver | None = None,
                      settings: Settings | None = None, ship: Ship = "auto",
                      planner: Planner | None = None) -> dict[str, Any] | None:
    """The runtime_env dict for a stage running ``spec``, or None when none is needed.

    ``ray_options`` are the stage's ``.options(...)`` (``num_cpus``, ``num_gpus``,
    ``resources``): they pick the nodes the env is made for.
    """
    return fused_runtime_env([spec], ray_options=ray_options, target=target,
                             resolver=resolver, settings=settings, ship=ship, planner=planner)


def fused_runtime_env(specs: Sequence[OperatorSpec], *,
                      ray_options: Mapping[str, Any] | None = None,
                      target: Target | None = None, resolver: Resolver | None = None,
                      settings: Settings | None = None, ship: Ship = "auto",
                      planner: Planner | None = None) -> dict[str, Any] | None:
    """One env for operators fused in one stage; conflicting pins raise PinConflict.

    The target is that of the connected cluster's nodes that can run the stage (a bare
    node like this driver without Ray); ``target`` overrides it.
    """
    planner = planner or Planner(settings=settings, resolver=resolver, ship=ship)
    env = planner.runtime_env(specs, ray_options=ray_options, target=target)
    return None if env is None else dict(env)
