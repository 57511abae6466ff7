"""The operator contract: a spec (what the registry knows) and a configured operator.

An :class:`OperatorSpec` is pure data: it names an import path and never imports
it. An :class:`Operator` is a spec plus init arguments; it imports and builds
its implementation on first call, and pickles without it, so Ray can ship it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, cast

import importlib_metadata

from ._exceptions import InvalidOperator, OperatorLoadError, OperatorNotLocal
from ._names import normalize_name as normalize_name  # noqa: PLC0414 - re-exported (its old home)
from .metadata import RESOURCES, Kind, OperatorMetadata, check_registration, to_json


@dataclass(frozen=True)
class Resources:
    """What one call of an operator needs from a Ray node (its checked resource fields)."""

    num_cpus: float = 1.0
    num_gpus: float = 0.0
    memory: int | None = None  # bytes

    def to_ray(self) -> dict[str, Any]:
        """Options for ``ray.remote(...).options(**resources.to_ray())``."""
        options: dict[str, Any] = {"num_cpus": self.num_cpus, "num_gpus": self.num_gpus}
        if self.memory:
            options["memory"] = self.memory
        return options


@dataclass(frozen=True)
class HubOrigin:
    """Where an operator fetched from a hub (not installed) comes from: one exact release.

    The env that runs it installs that release's wheel for the stage's target, by URL and
    sha256 (issue #10, item 4), if the target's Python meets ``requires_python``.
    """

    hub_url: str
    distribution: str
    version: str
    requires_dist: tuple[str, ...] = ()
    requires_python: str | None = None

    def installed_version(self) -> str | None:
        """The version of this distribution installed in the running environment, if any."""
        try:
            return importlib_metadata.version(self.distribution)
        except importlib_metadata.PackageNotFoundError:
            return None


@dataclass(frozen=True)
class OperatorSpec:
    """Everything the registry knows about one operator, without importing it.

    ``metadata`` holds every field of :class:`~hub.metadata.OperatorMetadata`, checked
    (:func:`~hub.metadata.check_registration`) and completed with defaults when the spec
    is made; treat it as read-only.

    >>> spec = OperatorSpec.create("Add_One", "my_ops.impl:add_one", batch=True)
    >>> spec.name, spec.kind, spec.batch
    ('add-one', 'function', True)
    """

    name: str
    target: str
    metadata: OperatorMetadata = field(default_factory=lambda: OperatorMetadata(),
                                       hash=False)
    distribution: str | None = None
    version: str | None = None
    origin: HubOrigin | None = None  # None for installed operators

    def __post_init__(self) -> None:
        name, metadata = check_registration(self.name, self.target, self.metadata)
        object.__setattr__(self, "name", name)  # frozen: set once, here
        object.__setattr__(self, "metadata", metadata)

    @classmethod
    def create(cls, name: str, target: str, **metadata: object) -> OperatorSpec:
        """A spec from a ``register(...)`` call's arguments (checked)."""
        return cls.from_registration(name, target, metadata)

    @classmethod
    def from_registration(cls, name: str, target: str, metadata: Mapping[str, object], *,
                          distribution: str | None = None, version: str | None = None,
                          origin: HubOrigin | None = None) -> OperatorSpec:
        """A spec from a registration whose metadata is not checked yet (a plugin's call,
        the hub's JSON), with where it comes from."""
        unchecked = cast(OperatorMetadata, metadata)  # __post_init__ checks every value
        return cls(name, target, unchecked, distribution, version, origin)

    @property
    def kind(self) -> Kind:
        return self.metadata["kind"]

    @property
    def batch(self) -> bool:
        return self.metadata["batch"]

    @property
    def description(self) -> str:
        return self.metadata["description"]

    @property
    def inputs(self) -> tuple[str, ...]:
        return tuple(self.metadata["inputs"])

    @property
    def outputs(self) -> tuple[str, ...]:
        return tuple(self.metadata["outputs"])

    @property
    def resources(self) -> Resources:
        """What one call needs from a Ray node."""
        metadata: Mapping[str, Any] = self.metadata
        return Resources(**{key: metadata[key] for key in RESOURCES})

    @property
    def module(self) -> str:
        """The module that implements the operator."""
        return self.target.partition(":")[0]

    def load(self) -> Callable[..., Any]:
        """Import the implementation (a function or a class) and check its kind.

        An operator from the hub imports only where its exact version is installed (a
        Ray worker in the env built for it): elsewhere :class:`OperatorNotLocal`.
        """
        self._check_local()
        module_name, _, attr = self.target.partition(":")
        try:
            obj: Any = importlib.import_module(module_name)
            for part in attr.split("."):
                obj = getattr(obj, part)
        except Exception as exc:  # any import-time failure is the operator's, not ours
            raise OperatorLoadError(self.name, self.target, exc) from exc
        if (self.kind == "class") != isinstance(obj, type) or not callable(obj):
            found = "a class" if isinstance(obj, type) else type(obj).__name__
            raise OperatorLoadError(
                self.name, self.target, TypeError(f"declared kind {self.kind!r} but found {found}")
            )
        loaded: Callable[..., Any] = obj  # checked callable above
        return loaded

    def _check_local(self) -> None:
        origin = self.origin
        if origin is None:
            return
        installed = origin.installed_version()
        if installed != origin.version:
            raise OperatorNotLocal(self.name, self.target, origin.hub_url, origin.distribution,
                                   origin.version, installed)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view: the hub's operator JSON (name, target, every metadata field)
        plus where the operator comes from (what `hub list --json` shows)."""
        return {"name": self.name, "target": self.target, **to_json(self.metadata),
                "distribution": self.distribution, "version": self.version,
                "origin": asdict(self.origin) if self.origin else None}


class Operator:
    """A configured operator: a spec plus init arguments, built on first call.

    Class operators are constructed once (``cls(*args, **kwargs)``); function
    operators are called as ``fn(item, *args, **kwargs)``. ``op(item)`` always
    takes one item and ``op.call_batch(items)`` a list, whatever the operator's
    own calling convention (``spec.batch``).
    """

    def __init__(self, spec: OperatorSpec, *args: Any, **kwargs: Any) -> None:
        self.spec = spec
        self.args = args
        self.kwargs = kwargs
        self._impl: Callable[..., Any] | None = None

    def __repr__(self) -> str:
        params = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs.items()]
        return f"<Operator {self.spec.name}({', '.join(params)})>"

    def __getstate__(self) -> dict[str, Any]:
        return {"spec": self.spec, "args": self.args, "kwargs": self.kwargs, "_impl": None}

    @property
    def name(self) -> str:
        return self.spec.name

    def build(self) -> Callable[..., Any]:
        """Import and construct the implementation (once)."""
        if self._impl is None:
            obj = self.spec.load()
            if self.spec.kind == "class":
                self._impl = obj(*self.args, **self.kwargs)
            elif self.args or self.kwargs:
                args, kwargs = self.args, self.kwargs
                self._impl = lambda item: obj(item, *args, **kwargs)
            else:
                self._impl = obj
        return self._impl

    def __call__(self, item: Any) -> Any:
        impl = self.build()
        if self.spec.batch:
            return _single(self.spec.name, impl([item]))
        return impl(item)

    def call_batch(self, items: Sequence[Any]) -> list[Any]:
        """Apply the operator to a list of items, in one call when it takes batches."""
        impl = self.build()
        if not self.spec.batch:
            return [impl(item) for item in items]
        results = list(impl(list(items)))
        if len(results) != len(items):
            raise InvalidOperator(
                f"batch operator {self.spec.name!r} returned {len(results)} results "
                f"for {len(items)} items"
            )
        return results


def _single(name: str, results: Any) -> Any:
    results = list(results)
    if len(results) != 1:
        raise InvalidOperator(f"batch operator {name!r} returned {len(results)} results for 1 item")
    return results[0]
