"""One pipeline stage: what to apply, how, and how to run it over a chunk of items.

A stage is pure data and pickles without anything built, so every worker (the
driver, a thread, a Ray task or actor) builds its own copy once and then calls
:func:`run_chunk` on lists of items.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from .._exceptions import InvalidOperator
from .._operator import Operator

Kind = Literal["map", "filter", "flat_map"]
OnError = Literal["raise", "skip", "collect"]
Backend = Literal["local", "thread", "ray"]
BACKENDS: tuple[Backend, ...] = ("local", "thread", "ray")
ON_ERROR: tuple[OnError, ...] = ("raise", "skip", "collect")

# What one item gives: (True, its outputs) or (False, the error text).
Outcome = tuple[bool, list[Any] | str]


@dataclass(frozen=True)
class PerWorker:
    """A class built once per worker (a Ray actor on the ray backend), then called per item.

    >>> DataCollection(texts).map(per_worker(Embedder, "minilm"), backend="ray")  # doctest: +SKIP
    """

    cls: type
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)

    def build(self) -> Callable[[Any], Any]:
        instance: Callable[[Any], Any] = self.cls(*self.args, **self.kwargs)
        return instance


def per_worker(cls: type, *args: Any, **kwargs: Any) -> PerWorker:
    """Mark ``cls`` to be constructed once per worker with these arguments."""
    if not isinstance(cls, type) or "__call__" not in dir(cls):
        raise InvalidOperator(f"per_worker() takes a class with __call__, got {cls!r}")
    return PerWorker(cls, args, kwargs)


@dataclass(frozen=True)
class ItemFailure:
    """An item that failed in a stage run with ``on_error="collect"``."""

    index: int
    item: Any
    error: str
    stage: str


@dataclass(frozen=True)
class StageOptions:
    """How a stage runs; ``None`` means "the backend's or the operator's default".

    ``runtime_env``: ``None`` asks ``runtime_env.stage_runtime_env`` for a hub
    operator, a dict overrides it, ``False`` disables it.
    """

    backend: Backend = "local"
    num_worker: int | None = None
    chunk_size: int | None = None
    ordered: bool = True
    on_error: OnError = "raise"
    num_cpus: float | None = None
    num_gpus: float | None = None
    memory: int | None = None
    resources: dict[str, float] | None = None  # custom Ray resources, e.g. {"gpu-node": 1}
    runtime_env: dict[str, Any] | Literal[False] | None = None
    max_retries: int = 3
    progress: bool | None = None
    startup_timeout: float = 600.0

    def __post_init__(self) -> None:
        _check_choice("backend", self.backend, BACKENDS)
        _check_choice("on_error", self.on_error, ON_ERROR)
        for key in ("num_worker", "chunk_size"):
            _check_positive_int(key, getattr(self, key))
        _check_resources(self.resources)
        if self.runtime_env not in (None, False) and not isinstance(self.runtime_env, dict):
            raise InvalidOperator(
                f"runtime_env={self.runtime_env!r} must be a dict, None (the operator's own) "
                "or False (none)"
            )

    @classmethod
    def names(cls) -> set[str]:
        return {f.name for f in fields(cls)}


def _check_choice(key: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise InvalidOperator(f"{key}={value!r} must be one of {', '.join(map(repr, choices))}")


def _check_resources(resources: object) -> None:
    ok = resources is None or isinstance(resources, dict) and all(
        isinstance(k, str) and isinstance(v, (int, float)) and v >= 0
        for k, v in resources.items()
    )
    if not ok:
        raise InvalidOperator(
            f"resources={resources!r} must map Ray resource names to numbers >= 0, "
            "e.g. {'gpu-node': 1}"
        )


def _check_positive_int(key: str, value: object) -> None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
        raise InvalidOperator(f"{key}={value!r} must be a whole number >= 1 (or None)")


@dataclass
class Stage:
    """``kind`` of ``fn``: a function, a hub Operator, or ``per_worker(cls)``."""

    kind: Kind
    fn: Any
    options: StageOptions = field(default_factory=StageOptions)
    _built: Callable[[list[Any]], list[Outcome]] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not callable(self.fn) and not isinstance(self.fn, PerWorker):
            raise InvalidOperator(
                f"{self.kind}() takes a function, a hub Operator or per_worker(cls), "
                f"got {type(self.fn).__name__} {self.fn!r}"
            )

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_built": None}

    @property
    def name(self) -> str:
        """``map(add-one)``: how errors and progress bars name the stage."""
        if isinstance(self.fn, Operator):
            label = self.fn.spec.name
        elif isinstance(self.fn, PerWorker):
            label = self.fn.cls.__qualname__
        else:
            label = getattr(self.fn, "__qualname__", None) or type(self.fn).__name__
        return f"{self.kind}({label})"

    @property
    def is_class(self) -> bool:
        """Whether the stage holds state built once per worker (an actor pool on Ray)."""
        if isinstance(self.fn, Operator):
            return self.fn.spec.kind == "class"
        return isinstance(self.fn, PerWorker)

    def fresh(self) -> Stage:
        """A copy with nothing built, for one worker."""
        fn = Operator(self.fn.spec, *self.fn.args, **self.fn.kwargs) \
            if isinstance(self.fn, Operator) else self.fn
        return Stage(self.kind, fn, self.options)

    def build(self) -> Callable[[list[Any]], list[Outcome]]:
        """Construct the operator (once) and return the chunk runner."""
        if self._built is None:
            self._built = _ChunkRunner(self.kind, *_callables(self.fn))
        return self._built


def _callables(fn: Any) -> tuple[Callable[[Any], Any], Callable[[list[Any]], list[Any]] | None]:
    """(call one item, call a batch or None) for a function, a class or an Operator."""
    if isinstance(fn, Operator):
        fn.build()
        return fn, (fn.call_batch if fn.spec.batch else None)
    if isinstance(fn, PerWorker):
        return fn.build(), None
    return fn, None


@dataclass
class _ChunkRunner:
    kind: Kind
    one: Callable[[Any], Any]
    many: Callable[[list[Any]], list[Any]] | None

    def __call__(self, items: list[Any]) -> list[Outcome]:
        if self.many is not None:
            try:
                return [(True, self._emit(x, v)) for x, v in zip(items, self.many(items))]
            except Exception:  # noqa: BLE001, S110 - any failure: retry item by item to find it
                pass
        return [self._apply(item) for item in items]

    def _apply(self, item: Any) -> Outcome:
        try:
            return True, self._emit(item, self.one(item))
        except Exception as exc:  # noqa: BLE001 - the operator's error, kept per item
            return False, describe(exc)

    def _emit(self, item: Any, value: Any) -> list[Any]:
        if self.kind == "map":
            return [value]
        if self.kind == "filter":
            return [item] if value else []
        return list(value)


def run_chunk(stage: Stage, items: list[Any]) -> list[Outcome]:
    """Apply a stage to a list of items: one outcome per item, in order."""
    return stage.build()(items)


def describe(exc: BaseException) -> str:
    """``ZeroDivisionError: division by zero (impl.py:12)``: an error in one line."""
    text = f"{type(exc).__name__}: {exc}"
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        last = frames[-1]
        text += f" ({last.filename.rsplit('/', 1)[-1]}:{last.lineno})"
    return text
