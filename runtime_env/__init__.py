"""Turn an operator's dependencies into a pinned lock and a Ray runtime_env.

>>> from hub import Registry
>>> from runtime_env import stage_runtime_env
>>> stage_runtime_env(Registry.discover().get("image-embed"))  # doctest: +SKIP
{'pip': {'packages': [...], 'pip_install_options': [...]}, 'py_modules': [...]}
"""

from __future__ import annotations

from ._cache import CacheEntry, LockCache, LockRequest
from ._lock import Lock
from ._merge import merge
from ._operator_lock import lock_operator
from ._requirements import base_constraints, requirements_for
from ._resolvers import PYPI, PipToolsResolver, Resolver, UvResolver, get_resolver
from ._stage import fused_runtime_env, runtime_env_for, stage_runtime_env
from ._target import Target

__all__ = [
    "PYPI",
    "CacheEntry",
    "Lock",
    "LockCache",
    "LockRequest",
    "PipToolsResolver",
    "Resolver",
    "Target",
    "UvResolver",
    "base_constraints",
    "fused_runtime_env",
    "get_resolver",
    "lock_operator",
    "merge",
    "requirements_for",
    "runtime_env_for",
    "stage_runtime_env",
]
