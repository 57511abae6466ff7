"""The operator contract: a spec (what the registry knows) and a configured operator.

An :class:`OperatorSpec` is pure data: it names an import path and never imports
it. An :class:`Operator` is a spec plus init arguments; it imports and builds
its implementation on first call, and pickles without it, so Ray can ship it.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import importlib_metadata

from ._exceptions import InvalidOperator, OperatorLoadError, OperatorNotLocal

Kind = Literal["function", "class"]
KINDS: tuple[Kind, ...] = ("function", "class")

_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*\Z")
_TARGET = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*\Z")


def normalize_name(name: str) -> str:
    """PEP 503 normalisation: ``Image_Embed`` and ``image.embed`` are ``image-embed``."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Resources:
    """What one call of an operator needs from a Ray node."""

    num_cpus: float = 1.0
    num_gpus: float = 0.0
    memory: int | None = None  # bytes

    def __post_init__(self) -> None:
        for key in ("num_cpus", "num_gpus", "memory"):
            value = getattr(self, key)
            if value is not None and (not isinstance(value, (int, float)) or value < 0):
                raise InvalidOperator(f"resource {key}={value!r} must be a number >= 0")

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

    >>> spec = OperatorSpec("add-one", "my_ops.impl:add_one")
    >>> spec.kind, spec.batch
    ('function', False)
    """

    name: str
    target: str
    kind: Kind = "function"
    batch: bool = False
    description: str = ""
    resources: Resources = field(default_factory=Resources)
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    distribution: str | None = None
    version: str | None = None
    origin: HubOrigin | None = None  # None for installed operators

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise InvalidOperator(
                f"operator name {self.name!r} must be lower-case words joined by dashes, "
                "e.g. 'image-embed'"
            )
        if not isinstance(self.target, str) or not _TARGET.match(self.target):
            raise InvalidOperator(
                f"operator {self.name!r}: target {self.target!r} must be an import path "
                "'package.module:attribute'"
            )
        if self.kind not in KINDS:
            raise InvalidOperator(
                f"operator {self.name!r}: kind {self.kind!r} must be one of {KINDS}"
            )

    @classmethod
    def create(cls, name: str, target: str, **metadata: Any) -> OperatorSpec:
        """Build a spec from a plugin's ``register(...)`` call (flat keyword form)."""
        resources = Resources(
            **{k: metadata.pop(k) for k in ("num_cpus", "num_gpus", "memory") if k in metadata}
        )
        for key in ("inputs", "outputs"):
            if key in metadata:
                metadata[key] = _as_tuple(metadata[key])
        try:
            return cls(normalize_name(name), target, resources=resources, **metadata)
        except TypeError as exc:
            raise InvalidOperator(f"operator {name!r}: {exc}") from None

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
        """A JSON-ready view (what `hub list --json` and the hub server show)."""
        data = asdict(self)
        data["inputs"], data["outputs"] = list(self.inputs), list(self.outputs)
        return data


def _as_tuple(value: str | Iterable[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


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
