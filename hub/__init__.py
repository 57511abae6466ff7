"""opshub: operators as Python distributions, a hub that serves them, and Ray pipelines.

>>> from hub import ops
>>> embed = ops.image_embed()          # doctest: +SKIP
>>> embed("cat.jpg").shape             # doctest: +SKIP
(1280,)

The names here are for users (``ops``, pipelines, the hub client, the errors) and plugin
authors (``hookimpl``, ``OperatorMetadata``; more in :mod:`hub.hookspecs` and
:mod:`hub.metadata`). Settings are in :mod:`hub.config`, the pipeline's plan objects in
:mod:`hub.pipeline`, the server in :mod:`hub.server`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from importlib_metadata import PackageNotFoundError, version

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
    OperatorAttributeError,
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
from ._operator import Operator, OperatorSpec
from ._registry import ops
from .hookspecs import hookimpl
from .metadata import OperatorMetadata

if TYPE_CHECKING:  # what __getattr__ returns, for type checkers
    from runtime_env import (
        MirrorError,
        NotMirrored,
        PinConflict,
        ResolutionError,
        UpstreamError,
    )

    from .client import HubClient
    from .pipeline import DataCollection, per_worker

# Imported on first use, so `import hub` (and `hub list`) loads neither requests nor Ray.
# runtime_env's errors too: runtime_env builds on hub (its errors subclass HubError), so
# hub imports it only when one is asked for (tests/test_layers.py).
_LAZY = {"DataCollection": "hub.pipeline", "per_worker": "hub.pipeline",
         "HubClient": "hub.client", "MirrorError": "runtime_env",
         "NotMirrored": "runtime_env", "PinConflict": "runtime_env",
         "ResolutionError": "runtime_env", "UpstreamError": "runtime_env"}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'hub' has no attribute {name!r}")


try:
    __version__ = version("opshub")
except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    __version__ = "0+unknown"

__all__ = [
    "BundleError",
    "CommandFailed",
    "ConfigError",
    "CorruptDatabase",
    "DataCollection",
    "HubClient",
    "HubConnectionError",
    "HubError",
    "HubResponseError",
    "InvalidDistribution",
    "InvalidOperator",
    "ItemError",
    "MirrorError",
    "NotMirrored",
    "Operator",
    "OperatorAttributeError",
    "OperatorBroken",
    "OperatorConflict",
    "OperatorLoadError",
    "OperatorMetadata",
    "OperatorNotFound",
    "OperatorNotLocal",
    "OperatorSpec",
    "PinConflict",
    "PipelineError",
    "ProjectNotFound",
    "ResolutionError",
    "ScaffoldError",
    "StorageError",
    "UpstreamError",
    "__version__",
    "hookimpl",
    "ops",
    "per_worker",
]
