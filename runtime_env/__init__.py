"""Turn operators' dependencies into pinned, hashed locks and a Ray runtime_env.

>>> from hub import ops
>>> from runtime_env import stage_runtime_env
>>> stage_runtime_env(ops.image_embed().spec)  # doctest: +SKIP
{'py_executable': '/bin/sh -c ...', 'py_modules': ['gcs://_ray_pkg_....zip', ...]}
"""

from __future__ import annotations

from ._cache import CacheEntry, LockCache
from ._errors import MirrorError, NotMirrored, PinConflict, ResolutionError, UpstreamError
from ._lock import Lock
from ._node_builder import installer_env
from ._node_env import node_env
from ._node_tool import NodeTool
from ._operator_lock import lock_operator
from ._pip_config import PipSources
from ._plan import EnvPlan, Wheel, needs_env, plan_env
from ._planner import Planner, Scope
from ._request import LockRequest
from ._requirements import base_constraints, requirements_for, spec_requirements
from ._resolvers import PipToolsResolver, Resolver, UvResolver, get_resolver
from ._sources import PYPI, Cooldown, Sources
from ._stage import fused_runtime_env, stage_runtime_env
from ._survey import NodeReport, Survey, SurveyCache, probe_interpreter
from ._target import Target

__all__ = [
    "PYPI",
    "CacheEntry",
    "Cooldown",
    "EnvPlan",
    "Lock",
    "LockCache",
    "LockRequest",
    "MirrorError",
    "NodeReport",
    "NodeTool",
    "NotMirrored",
    "PinConflict",
    "PipSources",
    "PipToolsResolver",
    "Planner",
    "ResolutionError",
    "Resolver",
    "Scope",
    "Sources",
    "Survey",
    "SurveyCache",
    "Target",
    "UpstreamError",
    "UvResolver",
    "Wheel",
    "base_constraints",
    "fused_runtime_env",
    "get_resolver",
    "installer_env",
    "lock_operator",
    "needs_env",
    "node_env",
    "plan_env",
    "probe_interpreter",
    "requirements_for",
    "spec_requirements",
    "stage_runtime_env",
]
