"""opshub: operators as Python distributions, a hub that serves them, and Ray pipelines.

>>> from hub import ops
>>> embed = ops.image_embed()          # doctest: +SKIP
>>> embed("cat.jpg").shape             # doctest: +SKIP
(1280,)
"""

from __future__ import annotations

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
    MirrorError,
    NotMirrored,
    OperatorBroken,
    OperatorConflict,
    OperatorLoadError,
    OperatorNotFound,
    OperatorNotLocal,
    PinConflict,
    PipelineError,
    ProjectNotFound,
    ResolutionError,
    ScaffoldError,
    StorageError,
    UpstreamError,
)
from ._operator import HubOrigin, Operator, OperatorSpec, Resources, normalize_name
from ._plugins import get_plugin_manager
from ._registry import OperatorAccessor, OperatorRecord, Registry, ops
from .hookspecs import ENTRY_POINT_GROUP, hookimpl, hookspec


def __getattr__(name: str) -> object:
    # The pipeline API imports lazily, so `import hub` (and `hub list`) stays light.
    if name == "DataCollection":
        from .pipeline import DataCollection

        return DataCollection
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
    "UpstreamError",
    "__version__",
    "get_plugin_manager",
    "hookimpl",
    "hookspec",
    "load_settings",
    "normalize_name",
    "ops",
]
