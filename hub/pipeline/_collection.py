"""DataCollection: the Towhee-style chainable API over a lazy plan."""

from __future__ import annotations

import glob as globlib
import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from .._exceptions import InvalidOperator
from ._driver import RayResult, Source, materialize, prepare, stream
from ._plan import Plan, Regroup
from ._stage import Backend, ItemFailure, Kind, Stage, StageOptions

Step = Stage | Regroup


class DataCollection:
    """A sequence of items and the stages that transform it.

    Stages build a plan; it runs when the collection is read (iteration, ``to_list``,
    ``len``, ``repr``). Eager by default: the result is kept, so the collection reads
    like a list (after Ray stages it is kept in Ray's object store, not in the driver);
    ``stream()`` makes it lazy and single-pass, in bounded memory. Consecutive Ray stages
    hand their blocks to each other inside Ray; compatible ones fuse into one call.
    Functions, hub Operators and ``per_worker(cls, ...)`` (a class built once per
    worker) are used alike.

    >>> DataCollection.range(5).map(lambda x: x * 2).filter(lambda x: x > 2).to_list()
    [4, 6, 8]
    >>> dc = DataCollection.range(10_000).stream().set_parallel(2, backend="thread")
    >>> sum(dc.map(lambda x: x + 1))
    50005000

    Stage options (keywords of ``map``, ``filter``, ``flat_map``, ``pmap``):
    ``backend``, ``num_worker``, ``chunk_size``, ``block_bytes``, ``batch_size``,
    ``ordered``, ``on_error`` (``"raise"``, ``"skip"``, ``"collect"`` into ``.errors``),
    ``timeout``, ``num_cpus``, ``num_gpus``, ``memory``, ``resources``, ``runtime_env``,
    ``max_retries``, ``keep_warm``, ``fuse``, ``progress``, ``startup_timeout``.
    """

    def __init__(self, items: Iterable[Any] = ()) -> None:
        """``items``: any iterable (an iterator makes a stream), or another collection,
        of which this is a copy: its stages, defaults, kept result and errors."""
        if isinstance(items, DataCollection):
            vars(self).update(vars(items._derive(())))
            return
        self._steps: tuple[Step, ...] = ()
        self._defaults: dict[str, Any] = {}
        self._result: Sequence[Any] | RayResult | None = None
        self._stream: bool = isinstance(items, Iterator)
        self._source: Source = items if self._stream or isinstance(items, Sequence) \
            else list(items)
        self._inherited: tuple[ItemFailure, ...] = ()  # failed before the kept result read here
        self.errors: list[ItemFailure] = []  # this collection's failed items

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
        """A lazy view: the stages run while iterating (the input is read once)."""
        if self._result is not None:
            return self._from_result(_once(self._result), (), stream=True)
        return self._root(_once(self._source), self._steps, stream=True)

    def unstream(self) -> DataCollection:
        """An eager copy: its result is kept once read."""
        if self._result is not None:
            return self._from_result(self._result, (), stream=False)
        return self._root(self._source, self._steps, stream=False)

    def explain(self) -> str:
        """How the pending stages would run: the plan, one entry per (fused) stage."""
        return str(self.plan())

    def plan(self) -> Plan:
        """The plan of the pending stages against the cluster as it is now. It describes
        only: it may connect to Ray to read the cluster, but builds no runtime_env (a hub
        operator's is shown as decided when the run starts) and releases no warm pool."""
        return prepare(self._steps, run=False).plan

    # --- stages -------------------------------------------------------------------

    def map(self, fn: Callable[..., Any], **options: Any) -> DataCollection:
        """Apply ``fn`` to every item."""
        return self._add("map", fn, options)

    def filter(self, fn: Callable[..., Any], **options: Any) -> DataCollection:
        """Keep the items for which ``fn(item)`` is true."""
        return self._add("filter", fn, options)

    def flat_map(self, fn: Callable[..., Any], **options: Any) -> DataCollection:
        """Apply ``fn`` and chain the iterables it returns."""
        return self._add("flat_map", fn, options)

    def pmap(
        self, fn: Callable[..., Any], num_worker: int | None = None,
        backend: Backend = "thread", **options: Any,
    ) -> DataCollection:
        """``map`` on ``num_worker`` parallel workers of ``backend``."""
        return self.map(fn, num_worker=num_worker, backend=backend, **options)

    def mmap(self, fns: Sequence[Callable[..., Any]], **options: Any) -> list[DataCollection]:
        """Fan out: one collection per function, each mapped over every item (the
        stages before run once: an eager collection is read first)."""
        if not self._stream:
            self._held()
            return [self.map(fn, **options) for fn in fns]
        copies = itertools.tee(iter(self), len(fns))
        return [self._root(c, (), stream=True).map(fn, **options) for c, fn in zip(copies, fns)]

    def set_parallel(self, num_worker: int | None = 2, backend: Backend = "thread") -> DataCollection:
        """Run later stages on ``num_worker`` workers of ``backend`` ("thread" or "ray")."""
        result = self._derive(())
        result._defaults = {**self._defaults, "num_worker": num_worker, "backend": backend}
        StageOptions(**result._defaults)  # bad values fail here, not at the next stage
        return result

    def batch(self, size: int, drop_tail: bool = False) -> DataCollection:
        """Group items into lists of ``size`` (the last one shorter unless dropped);
        this step runs in the driver."""
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise InvalidOperator(f"batch size {size!r} must be a whole number >= 1")
        return self._derive((Regroup(size, drop_tail),))

    def unbatch(self) -> DataCollection:
        """Undo ``batch``: chain the items of every list (in the driver)."""
        return self._derive((Regroup(None),))

    # --- results ------------------------------------------------------------------

    def to_list(self) -> list[Any]:
        """Every item, in a list (runs a stream to its end)."""
        return list(self)

    def __iter__(self) -> Iterator[Any]:
        if self._stream:
            return stream(self._steps, self._source, self.errors) if self._steps \
                else iter(self._source)
        return iter(self._held())

    def __len__(self) -> int:
        if self._stream:
            raise TypeError("a streamed DataCollection has no length; use to_list() first")
        return len(self._held())

    def __repr__(self) -> str:
        if self._stream:
            return "<DataCollection stream>"
        head = list(itertools.islice(iter(self), 5))
        more = ", ..." if len(self) > 5 else ""
        return f"DataCollection([{', '.join(map(repr, head))}{more}])"

    # --- internals ----------------------------------------------------------------

    def _held(self) -> Sequence[Any] | RayResult:
        """The eager result, computed once; a read that failed starts over, its errors
        with it (the items that failed are tried, and failed, again)."""
        if self._result is None:
            self.errors[:] = self._inherited
            self._result = materialize(self._steps, self._source, self.errors) \
                if self._steps else _as_sequence(self._source)
        return self._result

    def _add(self, kind: Kind, fn: Callable[..., Any], options: dict[str, Any]) -> DataCollection:
        return self._derive((Stage(kind, fn, self._options(options)),))

    def _options(self, overrides: dict[str, Any]) -> StageOptions:
        unknown = set(overrides) - StageOptions.names()
        if unknown:
            raise InvalidOperator(
                f"unknown stage option(s) {', '.join(sorted(unknown))}; "
                f"known: {', '.join(sorted(StageOptions.names()))}"
            )
        given = {k: v for k, v in overrides.items() if v is not None}
        return StageOptions(**{**self._defaults, **given})

    def _derive(self, steps: tuple[Step, ...]) -> DataCollection:
        """A collection of this one's items with ``steps`` more; a kept result is reused."""
        if self._result is not None:
            return self._from_result(self._result, steps, self._stream)
        return self._root(self._source, self._steps + steps, self._stream)

    def _from_result(self, result: Source, steps: tuple[Step, ...], stream: bool
                     ) -> DataCollection:
        """A collection reading this one's kept result: the errors behind it come along
        (a copy: each collection has its own list)."""
        child = self._root(result, steps, stream)
        child._inherited = tuple(self.errors)
        child.errors = list(self.errors)
        if not steps and not stream:
            child._result = self._result  # nothing to run: it is read already
        return child

    def _root(self, source: Source, steps: tuple[Step, ...], stream: bool) -> DataCollection:
        result = DataCollection.__new__(DataCollection)
        result._source, result._steps, result._stream = source, steps, stream
        result._defaults, result._result = self._defaults, None
        result._inherited, result.errors = (), []
        return result


def _once(source: Source) -> Source:
    """A single pass over ``source`` (a kept Ray result stays unfetched)."""
    if isinstance(source, RayResult):
        return RayResult(list(source.pieces))
    return iter(source)


def _as_sequence(source: Source) -> Sequence[Any] | RayResult:
    if isinstance(source, (Sequence, RayResult)):
        return source
    return list(source)
