"""DataCollection: the Towhee-style chainable API over the pipeline executors."""

from __future__ import annotations

import glob as globlib
import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from .._exceptions import InvalidOperator
from ._driver import run_stage
from ._stage import Backend, ItemFailure, Kind, Stage, StageOptions


class DataCollection:
    """A sequence of items and the stages that transform it.

    Eager by default (each stage runs at once and holds a list); ``stream()``
    makes it lazy: stages run as the result is iterated, in bounded memory.
    Functions, hub Operators and ``per_worker(cls, ...)`` (a class built once
    per worker) are used alike.

    >>> DataCollection.range(5).map(lambda x: x * 2).filter(lambda x: x > 2).to_list()
    [4, 6, 8]
    >>> dc = DataCollection.range(10_000).stream().set_parallel(2, backend="thread")
    >>> sum(dc.map(lambda x: x + 1))
    50005000

    Stage options (keywords of ``map``, ``filter``, ``flat_map``, ``pmap``):
    ``backend``, ``num_worker``, ``chunk_size``, ``ordered``, ``on_error``
    (``"raise"``, ``"skip"``, ``"collect"`` into ``.errors``), ``num_cpus``,
    ``num_gpus``, ``memory``, ``resources``, ``runtime_env``, ``max_retries``, ``progress``,
    ``startup_timeout``.
    """

    def __init__(self, items: Iterable[Any] = ()) -> None:
        if isinstance(items, DataCollection):
            items = items._items
        self._stream = isinstance(items, Iterator)
        self._items: Iterable[Any] = items if self._stream or isinstance(items, Sequence) \
            else list(items)
        self._defaults: dict[str, Any] = {}
        self.errors: list[ItemFailure] = []  # shared by every collection derived from this one

    # --- constructors -------------------------------------------------------------

    @classmethod
    def range(cls, *args: int) -> DataCollection:
        """``DataCollection.range(10)``, like the builtin ``range`` (and as lazy)."""
        return cls(range(*args))

    @classmethod
    def glob(cls, *patterns: str, recursive: bool = True) -> DataCollection:
        """The paths matching each pattern (``"imgs/**/*.jpg"``), sorted."""
        return cls(sorted(itertools.chain.from_iterable(
            globlib.glob(p, recursive=recursive) for p in patterns
        )))

    # --- eager and lazy -----------------------------------------------------------

    @property
    def is_stream(self) -> bool:
        return self._stream

    def stream(self) -> DataCollection:
        """A lazy view: later stages run while iterating (the items are read once)."""
        return self._derive(iter(self._items), stream=True)

    def unstream(self) -> DataCollection:
        """An eager copy: every item read into a list."""
        return self._derive(list(self._items), stream=False)

    # --- stages -------------------------------------------------------------------

    def map(self, fn: Callable[..., Any], **options: Any) -> DataCollection:
        """Apply ``fn`` to every item."""
        return self._run("map", fn, options)

    def filter(self, fn: Callable[..., Any], **options: Any) -> DataCollection:
        """Keep the items for which ``fn(item)`` is true."""
        return self._run("filter", fn, options)

    def flat_map(self, fn: Callable[..., Any], **options: Any) -> DataCollection:
        """Apply ``fn`` and chain the iterables it returns."""
        return self._run("flat_map", fn, options)

    def pmap(
        self, fn: Callable[..., Any], num_worker: int | None = None,
        backend: Backend = "thread", **options: Any,
    ) -> DataCollection:
        """``map`` on ``num_worker`` parallel workers of ``backend``."""
        return self.map(fn, num_worker=num_worker, backend=backend, **options)

    def mmap(self, fns: Sequence[Callable[..., Any]], **options: Any) -> list[DataCollection]:
        """Fan out: one collection per function, each mapped over every item."""
        if not self._stream:
            return [self.map(fn, **options) for fn in fns]
        copies = itertools.tee(self._items, len(fns))
        return [self._derive(c, True).map(fn, **options) for c, fn in zip(copies, fns)]

    def set_parallel(self, num_worker: int | None = 2, backend: Backend = "thread") -> DataCollection:
        """Run later stages on ``num_worker`` workers of ``backend`` ("thread" or "ray")."""
        result = self._derive(self._items, self._stream)
        result._defaults = {**self._defaults, "num_worker": num_worker, "backend": backend}
        StageOptions(**result._defaults)  # bad values fail here, not at the next stage
        return result

    def batch(self, size: int, drop_tail: bool = False) -> DataCollection:
        """Group items into lists of ``size`` (the last one shorter unless dropped)."""
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise InvalidOperator(f"batch size {size!r} must be a whole number >= 1")
        batches = _batched(iter(self._items), size, drop_tail)
        return self._derive(batches if self._stream else list(batches), self._stream)

    def unbatch(self) -> DataCollection:
        """Undo ``batch``: chain the items of every list."""
        items = itertools.chain.from_iterable(self._items)
        return self._derive(items if self._stream else list(items), self._stream)

    # --- results ------------------------------------------------------------------

    def to_list(self) -> list[Any]:
        """Every item, in a list (runs a stream to its end)."""
        return list(self._items)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._items)

    def __len__(self) -> int:
        if self._stream:
            raise TypeError("a streamed DataCollection has no length; use to_list() first")
        return len(self._items)  # type: ignore[arg-type]

    def __repr__(self) -> str:
        if self._stream:
            return "<DataCollection stream>"
        head = list(itertools.islice(self._items, 5))
        more = ", ..." if len(self) > 5 else ""
        return f"DataCollection([{', '.join(map(repr, head))}{more}])"

    # --- internals ----------------------------------------------------------------

    def _run(self, kind: Kind, fn: Callable[..., Any], options: dict[str, Any]) -> DataCollection:
        stage = Stage(kind, fn, self._options(options))
        outputs = run_stage(stage, self._items, self.errors)
        return self._derive(outputs if self._stream else list(outputs), self._stream)

    def _options(self, overrides: dict[str, Any]) -> StageOptions:
        unknown = set(overrides) - StageOptions.names()
        if unknown:
            raise InvalidOperator(
                f"unknown stage option(s) {', '.join(sorted(unknown))}; "
                f"known: {', '.join(sorted(StageOptions.names()))}"
            )
        given = {k: v for k, v in overrides.items() if v is not None}
        return StageOptions(**{**self._defaults, **given})

    def _derive(self, items: Iterable[Any], stream: bool) -> DataCollection:
        result = DataCollection.__new__(DataCollection)
        result._items, result._stream = items, stream
        result._defaults, result.errors = self._defaults, self.errors
        return result


def _batched(items: Iterator[Any], size: int, drop_tail: bool) -> Iterator[list[Any]]:
    while batch := list(itertools.islice(items, size)):
        if len(batch) < size and drop_tail:
            return
        yield batch
