"""opshub: operators as Python distributions, a hub that serves them, and Ray pipelines.

>>> from hub import ops
>>> embed = ops.image_embed()          # doctest: +SKIP
>>> embed("cat.jpg").shape             # doctest: +SKIP
(1280,)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from importlib_metadata import PackageNotFoundError, version

from ._config import Settings, load_settings
from ._exceptions import (
    BundleError,
    CommandFailed,
    ConfigError,
    CorruptDatabase,
    HubConnectionError,
    HubError,
    HubResponseError,
    InvalidDistribution,
    InvalidOperator,
    ItemError,
    OperatorBroken,
    OperatorConflict,
    OperatorLoadError,
    OperatorNotFound,
    OperatorNotLocal,
    PipelineError,
    ProjectNotFound,
    ScaffoldError,
    StorageError,
)
from ._operator import HubOrigin, Operator, OperatorSpec, Resources, normalize_name
from ._plugins import get_plugin_manager
from ._registry import OperatorAccessor, OperatorRecord, Registry, ops
from .hookspecs import ENTRY_POINT_GROUP, hookimpl, hookspec

if TYPE_CHECKING:  # what __getattr__ returns, for type checkers
    from runtime_env import MirrorError, NotMirrored, PinConflict, ResolutionError

# runtime_env's errors, re-exported here: runtime_env builds on hub (its errors subclass
# HubError), so hub imports it only when one is asked for (tests/test_layers.py).
_RUNTIME_ENV_ERRORS = frozenset({"MirrorError", "NotMirrored", "PinConflict", "ResolutionError"})


def __getattr__(name: str) -> object:
    # The pipeline API imports lazily, so `import hub` (and `hub list`) stays light.
    if name == "DataCollection":
        from .pipeline import DataCollection

        return DataCollection
    if name in _RUNTIME_ENV_ERRORS:
        import runtime_env

        return getattr(runtime_env, name)
    raise AttributeError(f"module 'hub' has no attribute {name!r}")


try:
    __version__ = version("opshub")
except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    __version__ = "0+unknown"

__all__ = [  # noqa: RUF022 - plain sorted(), as tests/test_exports.py pins it
    "BundleError",
    "CommandFailed",
    "ConfigError",
    "CorruptDatabase",
    "DataCollection",
    "ENTRY_POINT_GROUP",
    "HubConnectionError",
    "HubError",
    "HubOrigin",
    "HubResponseError",
    "InvalidDistribution",
    "InvalidOperator",
    "ItemError",
    "MirrorError",
    "NotMirrored",
    "Operator",
    "OperatorAccessor",
    "OperatorBroken",
    "OperatorConflict",
    "OperatorLoadError",
    "OperatorNotFound",
    "OperatorNotLocal",
    "OperatorRecord",
    "OperatorSpec",
    "PinConflict",
    "PipelineError",
    "ProjectNotFound",
    "Registry",
    "ResolutionError",
    "Resources",
    "ScaffoldError",
    "Settings",
    "StorageError",
    "__version__",
    "get_plugin_manager",
    "hookimpl",
    "hookspec",
    "load_settings",
    "normalize_name",
    "ops",
]
