"""One pipeline stage as the user wrote it: what to apply, and the options of its run.

A stage is pure data; nothing is built here. The plan (``_plan.py``) decides how it runs,
workers build it (``_worker.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from .._exceptions import InvalidOperator
from .._operator import Operator
from ._worker import FnSpec

Kind = Literal["map", "filter", "flat_map"]
OnError = Literal["raise", "skip", "collect"]
Backend = Literal["local", "thread", "ray"]
BACKENDS: tuple[Backend, ...] = ("local", "thread", "ray")
ON_ERROR: tuple[OnError, ...] = ("raise", "skip", "collect")
# Options only Ray can honour: elsewhere they are refused, not ignored (issue 12).
RAY_ONLY = ("num_cpus", "num_gpus", "memory", "resources", "max_retries", "startup_timeout")


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
    """An item that failed in a stage run with ``on_error="collect"``.

    ``index`` is the item's position in the run's input (the collection the stages were
    applied to), whichever stage failed; ``item`` is what that stage was given.
    """

    index: int
    item: Any
    error: str
    stage: str


@dataclass(frozen=True)
class StageOptions:
    """How a stage runs; ``None`` means "the backend's or the operator's default".

    ``runtime_env``: ``None`` asks ``runtime_env.stage_runtime_env`` for a hub
    operator, a dict overrides it, ``False`` disables it. ``chunk_size`` fixes the
    items per transport block (default: sized in bytes, ``block_bytes``);
    ``batch_size`` is what one call of a batch operator receives. Options a backend
    cannot honour are refused.
    """

    backend: Backend = "local"
    num_worker: int | None = None
    chunk_size: int | None = None
    block_bytes: int | None = None
    batch_size: int | None = None
    ordered: bool = True
    on_error: OnError = "raise"
    timeout: float | None = None
    num_cpus: float | None = None
    num_gpus: float | None = None
    memory: int | None = None
    resources: dict[str, float] | None = None  # custom Ray resources, e.g. {"gpu-node": 1}
    runtime_env: dict[str, Any] | Literal[False] | None = None
    max_retries: int | None = None
    keep_warm: bool = False
    fuse: bool = True
    progress: bool | None = None
    startup_timeout: float | None = None

    def __post_init__(self) -> None:
        _check_choice("backend", self.backend, BACKENDS)
        _check_choice("on_error", self.on_error, ON_ERROR)
        for key in ("num_worker", "chunk_size", "block_bytes", "batch_size"):
            _check_whole(key, getattr(self, key), 1)
        _check_whole("max_retries", self.max_retries, 0)
        for key in ("timeout", "startup_timeout"):
            _check_seconds(key, getattr(self, key))
        _check_resources(self.resources)
        if self.runtime_env not in (None, False) and not isinstance(self.runtime_env, dict):
            raise InvalidOperator(
                f"runtime_env={self.runtime_env!r} must be a dict, None (the operator's own) "
                "or False (none)"
            )
        _check_backend(self)

    @classmethod
    def names(cls) -> set[str]:
        return {f.name for f in fields(cls)}


def _check_backend(opts: StageOptions) -> None:
    """Refuse what the chosen backend cannot do, naming the option and the way out."""
    if opts.backend != "ray":
        given = [k for k in RAY_ONLY if getattr(opts, k) is not None]
        given += ["runtime_env"] * isinstance(opts.runtime_env, dict)
        given += ["keep_warm"] * opts.keep_warm
        if given:
            names = ", ".join(f"{k}=" for k in given)
            raise InvalidOperator(
                f"{names} only apply to backend='ray'; this stage runs on "
                f"backend={opts.backend!r} — drop them or pass backend='ray'")
    if opts.backend == "local" and opts.num_worker not in (None, 1):
        raise InvalidOperator(
            f"num_worker={opts.num_worker}: backend='local' runs in the caller's thread, one "
            "worker — use backend='thread' or backend='ray' for parallel workers")
    if opts.backend == "thread" and opts.timeout is not None:
        raise InvalidOperator(
            f"timeout={opts.timeout:g}: a thread cannot be stopped, so backend='thread' "
            "cannot honour it — use backend='ray' (a hung call is interrupted, its worker "
            "killed if it must be) or backend='local'")


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


def _check_whole(key: str, value: object, least: int) -> None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                              or value < least):
        raise InvalidOperator(f"{key}={value!r} must be a whole number >= {least} (or None)")


def _check_seconds(key: str, value: object) -> None:
    if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool)
                              or value <= 0):
        raise InvalidOperator(f"{key}={value!r} must be a number of seconds > 0 (or None)")


@dataclass(frozen=True, eq=False)
class Stage:
    """``kind`` of ``fn``: a function, a hub Operator, or ``per_worker(cls)``."""

    kind: Kind
    fn: Any
    options: StageOptions = field(default_factory=StageOptions)

    def __post_init__(self) -> None:
        if not callable(self.fn) and not isinstance(self.fn, PerWorker):
            raise InvalidOperator(
                f"{self.kind}() takes a function, a hub Operator or per_worker(cls), "
                f"got {type(self.fn).__name__} {self.fn!r}"
            )
        if self.options.batch_size is not None and not self.is_batch:
            raise InvalidOperator(
                f"batch_size={self.options.batch_size}: {self.name} is called per item; "
                "batch_size= applies to batch operators (registered with batch=True) — use "
                ".batch(n) to group items into lists")
        if self.options.keep_warm and not self.is_class:
            raise InvalidOperator(
                f"keep_warm=True: {self.name} has no state to keep; keep_warm= applies to "
                "class stages (per_worker(cls) or a class operator)")

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

    @property
    def is_batch(self) -> bool:
        """Whether one call takes a list of items (a hub operator registered ``batch=True``)."""
        return isinstance(self.fn, Operator) and self.fn.spec.batch

    def fn_spec(self) -> FnSpec:
        """What a worker builds: plain data, so a bare Ray node needs no opshub for a
        function or ``per_worker`` class (a hub Operator brings its env)."""
        if isinstance(self.fn, Operator):
            return ("operator", self.fn)
        if isinstance(self.fn, PerWorker):
            return ("class", self.fn.cls, self.fn.args, self.fn.kwargs)
        return ("function", self.fn)
