"""The registry of installed operators and the ``ops`` accessor."""

from __future__ import annotations

import difflib
import importlib
import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ._config import Settings, load_settings
from ._exceptions import (
    HubConnectionError,
    OperatorAttributeError,
    OperatorBroken,
    OperatorConflict,
    OperatorNotFound,
    ProjectNotFound,
)
from ._operator import Operator, OperatorSpec, normalize_name
from ._plugins import PluginResult, Selection, iter_entry_points, load_plugin

if TYPE_CHECKING:
    from .client import HubClient

Status = Literal["ok", "broken", "conflict", "disabled"]


@dataclass(frozen=True)
class OperatorRecord:
    """One row of `hub list`: an operator, or a plugin that failed to load."""

    name: str
    distribution: str
    version: str
    status: Status
    spec: OperatorSpec | None = None
    error: str | None = None

    @property
    def kind(self) -> str | None:
        return self.spec.kind if self.spec else None

    def to_dict(self) -> dict[str, Any]:
        """A row of `hub list --json`: the status, and the spec's fields when it has one."""
        data: dict[str, Any] = {
            "name": self.name,
            "version": self.version,
            "kind": self.kind,
            "distribution": self.distribution,
            "status": self.status,
            "error": self.error,
        }
        if self.spec:
            data.update({k: v for k, v in self.spec.to_dict().items() if k not in data})
        return data


class Registry:
    """Installed operators, discovered through entry points without importing them.

    >>> registry = Registry.discover()
    >>> registry.get("image-embed")  # doctest: +SKIP
    OperatorSpec(name='image-embed', ...)
    """

    def __init__(self, records: Iterable[OperatorRecord]) -> None:
        self.records = sorted(records, key=lambda r: (r.name, r.distribution))
        self._by_name: dict[str, list[OperatorRecord]] = defaultdict(list)
        for record in self.records:
            self._by_name[record.name].append(record)

    @classmethod
    def discover(cls, env: Mapping[str, str] = os.environ) -> Registry:
        """Scan the installed distributions' ``opshub.operators`` entry points."""
        importlib.invalidate_caches()
        selection = Selection.from_env(env)
        results = [load_plugin(ep, selection) for ep in iter_entry_points()]
        return cls(_records(results, selection))

    def names(self) -> list[str]:
        """Names of the operators that can be used."""
        return [r.name for r in self.records if r.status == "ok"]

    def get(self, name: str) -> OperatorSpec:
        """The spec of an usable operator, or a clear error saying why not."""
        key = normalize_name(name)
        records = self._by_name.get(key, [])
        usable = [r for r in records if r.status in ("ok", "conflict")]
        if len(usable) > 1 or any(r.status == "conflict" for r in usable):
            raise OperatorConflict(key, [r.distribution for r in usable])
        if usable and usable[0].spec is not None:
            return usable[0].spec
        broken = [r for r in records if r.status == "broken"]
        if broken:
            raise OperatorBroken(key, broken[0].distribution, broken[0].error or "")
        raise OperatorNotFound(key, difflib.get_close_matches(key, self.names(), n=3))


def _records(results: list[PluginResult], selection: Selection) -> list[OperatorRecord]:
    records: list[OperatorRecord] = []
    claimed: dict[str, set[str]] = defaultdict(set)
    for result in results:
        if result.error is not None or result.disabled:
            records.append(_plugin_record(result, selection))
        for spec in result.specs:  # a claimant the selection leaves out claims nothing
            if selection.allows(spec.name, result.entry_point, result.distribution):
                claimed[spec.name].add(result.distribution)
    for result in results:
        for spec in result.specs:
            records.append(_record(spec, result, selection, claimed[spec.name]))
    return records


def _plugin_record(result: PluginResult, selection: Selection) -> OperatorRecord:
    """A row for a plugin that registered nothing: broken, or disabled before loading."""
    allowed = selection.allows(result.entry_point, result.distribution)
    status: Status = "broken" if allowed and not result.disabled else "disabled"
    return OperatorRecord(
        normalize_name(result.entry_point), result.distribution, result.version,
        status, error=result.error,
    )


def _record(
    spec: OperatorSpec, result: PluginResult, selection: Selection, claimants: set[str]
) -> OperatorRecord:
    status: Status = "ok"
    error = None
    if not selection.allows(spec.name, result.entry_point, result.distribution):
        status = "disabled"
    elif len(claimants) > 1:
        status = "conflict"
        error = f"name also registered by {', '.join(sorted(claimants - {result.distribution}))}"
    return OperatorRecord(
        spec.name, result.distribution, result.version, status, spec=spec, error=error
    )


class OperatorAccessor:
    """``ops.image_embed(...)`` or ``ops["image-embed"](...)``: a configured operator.

    The registry is discovered on first use and kept; ``ops.refresh()`` rescans
    (after installing an operator in the same process). An operator that is not
    installed is looked up on the configured hub (``HUB_URL``; ``HUB_FALLBACK=0`` turns
    this off), as :meth:`from_hub` does explicitly.
    """

    def __init__(self, discover: Callable[[], Registry] = Registry.discover,
                 settings: Callable[[], Settings] = load_settings,
                 client: Callable[[Settings], HubClient] | None = None) -> None:
        self._discover = discover
        self._settings = settings
        self._client = client or _default_client
        self._registry: Registry | None = None
        self._fetched: dict[tuple[str, str], OperatorSpec] = {}  # (hub, requirement) -> spec

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            self._registry = self._discover()
        return self._registry

    def refresh(self) -> None:
        """Forget the discovered and fetched operators; the next access looks again."""
        self._registry = None
        self._fetched.clear()

    def spec(self, name: str) -> OperatorSpec:
        """The spec of ``name``: installed, else from the hub (``NAME==VERSION`` always
        asks the hub)."""
        if any(c in name for c in "=<>!~"):
            return self._fetch(name, self._settings())
        try:
            return self.registry.get(name)
        except OperatorNotFound as missing:
            return self._fallback(name, missing)

    def from_hub(self, requirement: str) -> Callable[..., Operator]:
        """The factory of a hub operator, ``NAME`` or ``NAME==VERSION``, never installed.

        >>> embed = ops.from_hub("image-embed==0.1.0")()   # doctest: +SKIP
        """
        return _factory(self._fetch(requirement, self._settings()))

    def __getitem__(self, name: str) -> Callable[..., Operator]:
        return _factory(self.spec(name))

    def __getattr__(self, name: str) -> Callable[..., Operator]:
        # An operator name never starts with "_": such lookups are Python's and IPython's
        # probes (_repr_html_, __wrapped__), answered at once, without asking the hub.
        if name.startswith("_"):
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        try:
            return self[name]
        except OperatorNotFound as missing:  # also an AttributeError: hasattr() works
            raise OperatorAttributeError(missing.name, missing.suggestions,
                                         missing.hub) from None

    def __dir__(self) -> list[str]:
        return [n.replace("-", "_") for n in self.registry.names()]

    def _fallback(self, name: str, missing: OperatorNotFound) -> OperatorSpec:
        settings = self._settings()
        if not (settings.fallback and settings.hub_configured):
            raise missing
        try:
            return self._fetch(normalize_name(name), settings)
        except (ProjectNotFound, HubConnectionError) as exc:
            raise OperatorNotFound(missing.name, missing.suggestions,
                                   hub=f"{settings.url} ({exc})") from None

    def _fetch(self, requirement: str, settings: Settings) -> OperatorSpec:
        from ._hub_operators import fetch_spec, print_notice

        key = (settings.url, requirement)
        if key not in self._fetched:
            spec = fetch_spec(self._client(settings), requirement)
            print_notice(spec)
            self._fetched[key] = spec
        return self._fetched[key]


def _factory(spec: OperatorSpec) -> Callable[..., Operator]:
    def configure(*args: Any, **kwargs: Any) -> Operator:
        return Operator(spec, *args, **kwargs)

    configure.__name__ = spec.name.replace("-", "_")
    configure.__doc__ = spec.description
    return configure


def _default_client(settings: Settings) -> HubClient:
    from .client import HubClient

    return HubClient.from_settings(settings)


ops = OperatorAccessor()
