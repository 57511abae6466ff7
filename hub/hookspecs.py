"""The hooks an operator distribution implements.

A distribution declares one entry point in the ``opshub.operators`` group that
names a module (or object) holding ``@hub.hookimpl`` functions::

    [project.entry-points."opshub.operators"]
    my-ops = "my_ops.plugin"

The plugin module stays light: it names import paths and never imports the
operator's implementation (nor torch), so listing operators stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import pluggy

from .metadata import OperatorMetadata

if TYPE_CHECKING:  # typing.Unpack is Python 3.11+; only type checkers read it here
    from typing_extensions import Unpack

PROJECT_NAME = "opshub"
ENTRY_POINT_GROUP = "opshub.operators"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


class Register(Protocol):
    """The callable a plugin receives: one call registers one operator.

    The keywords are the fields of :class:`hub.metadata.OperatorMetadata`.
    """

    def __call__(self, name: str, target: str, **metadata: Unpack[OperatorMetadata]
                 ) -> None: ...


@hookspec
def register_operators(register: Register) -> None:
    """Register operators with ``register(name, "module:attr", kind=..., ...)``."""
