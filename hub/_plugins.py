"""Load operator plugins from entry points, one at a time, recording failures.

pluggy's ``load_setuptools_entrypoints`` stops at the first broken plugin and
silently drops a second distribution using the same entry-point name; this
loader isolates each plugin and attributes every registration to its
distribution.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import importlib_metadata
import pluggy

from . import hookspecs
from ._operator import OperatorSpec, normalize_name

DISABLE_ENV = "HUB_DISABLE_OPERATORS"
LOAD_ENV = "HUB_LOAD_OPERATORS"


def new_plugin_manager() -> pluggy.PluginManager:
    """A fresh plugin manager that knows opshub's hook specifications (one per plugin:
    see the module docstring)."""
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    return pm


@dataclass(frozen=True)
class Selection:
    """Which operators to load, from ``HUB_LOAD_OPERATORS`` / ``HUB_DISABLE_OPERATORS``.

    Each is a comma-separated list of operator, entry-point or distribution
    names; ``HUB_DISABLE_OPERATORS=*`` disables every installed operator.
    """

    only: frozenset[str] | None = None
    disabled: frozenset[str] = frozenset()

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Selection:
        only = env.get(LOAD_ENV)
        return cls(
            only=_names(only) if only is not None and only.strip() else None,
            disabled=_names(env.get(DISABLE_ENV, "")),
        )

    def allows(self, *names: str) -> bool:
        """Whether an operator known by any of these names may be used."""
        keys = {normalize_name(n) for n in names}
        if self.disables(*names):
            return False
        return self.only is None or bool(keys & self.only)

    def disables(self, *names: str) -> bool:
        """Whether these names are disabled outright (the plugin is not even imported)."""
        keys = {normalize_name(n) for n in names}
        return "*" in self.disabled or bool(keys & self.disabled)


def _names(value: str) -> frozenset[str]:
    return frozenset(normalize_name(n.strip()) for n in value.split(",") if n.strip())


@dataclass
class PluginResult:
    """What one entry point yielded: its specs, or the error that broke it."""

    entry_point: str
    distribution: str
    version: str
    specs: list[OperatorSpec] = field(default_factory=list)
    error: str | None = None
    disabled: bool = False


def iter_entry_points() -> Iterator[importlib_metadata.EntryPoint]:
    """Installed entry points of the operator group (distributions deduplicated)."""
    yield from importlib_metadata.entry_points(group=hookspecs.ENTRY_POINT_GROUP)


def load_plugin(ep: importlib_metadata.EntryPoint, selection: Selection) -> PluginResult:
    """Import one plugin and collect what its hooks register, never raising."""
    dist = ep.dist
    result = PluginResult(
        entry_point=ep.name,
        distribution=dist.name if dist else "?",
        version=dist.version if dist else "?",
    )
    if selection.disables(result.entry_point, result.distribution):
        result.disabled = True
        return result
    try:
        plugin = ep.load()
        pm = new_plugin_manager()
        pm.register(plugin, name=f"{result.distribution}:{ep.name}")
        pm.hook.register_operators(register=_collector(result))
    except Exception as exc:  # noqa: BLE001 - a broken plugin must never break the others
        result.specs.clear()
        result.error = f"{type(exc).__name__}: {exc}"
    return result


def _collector(result: PluginResult) -> hookspecs.Register:
    def register(name: str, target: str, **metadata: object) -> None:
        result.specs.append(OperatorSpec.from_registration(
            name, target, metadata, distribution=result.distribution, version=result.version))

    return register
