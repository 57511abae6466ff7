"""The executor interface: carry out the plan of a segment over blocks of items.

A segment is one ``StagePlan`` (in the caller, on threads) or consecutive Ray
``StagePlan``s that stream into each other. ``execute`` yields one :class:`Piece` per
input block, in input order unless a stage says ``ordered=False``; a piece's data is
the output block, or on Ray a reference to it that the driver fetches only at the end.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from ..._exceptions import OperatorNotLocal, PipelineError
from .._plan import StagePlan
from .._sizing import BlockSizer, blocks, source_chunks
from .._worker import Block, Callables, Failure, Meta, StageBuildError, build, fresh

H = TypeVar("H")


@dataclass(frozen=True)
class Items:
    """A run's raw input: cut into blocks only as they are needed."""

    source: Iterable[Any]


@dataclass(frozen=True)
class Chunks:
    """Items between two segments, as ``(items, origins)`` chunks of any length."""

    blocks: Iterable[Block]


Feed = Items | Chunks


@dataclass
class Piece:
    """One block on its way through a segment, and what happened to it so far."""

    seq: int  # its place in the segment's input
    span: tuple[int, int]  # first and last input index it was cut from
    data: Any  # the block (items, origins), or an ObjectRef to it
    # Items in the block as cut. Not the span: after a filter, flat_map or batch() the
    # origins have gaps or repeats, and sizes per item would be off by as much (issue 12).
    source_items: int
    meta: Meta | None = None
    failures: list[Failure] = field(default_factory=list)  # settled in order, at the end
    fatal: Failure | None = None
    restart: int | None = None  # a kept block read again: its origins count from here

    def after(self, data: Any, meta: Meta) -> Piece:
        """This piece once a stage has run on it."""
        return Piece(self.seq, self.span, data, self.source_items, meta,
                     self.failures + meta["failures"], meta["fatal"])


class Executor(ABC):
    """Runs one segment; switching backend swaps the executor, nothing else.

    ``execute`` yields pieces; ``close`` releases workers. Capabilities are class
    attributes.
    """

    name: ClassVar[str]
    parallel: ClassVar[bool] = False
    distributed: ClassVar[bool] = False

    def __init__(self, plans: Sequence[StagePlan], total: int | None = None) -> None:
        self.plans = list(plans)
        self.sizer = BlockSizer.for_plans(self.plans, total)
        self.peak_in_flight = 0  # most blocks submitted and not yet yielded

    @abstractmethod
    def execute(self, feed: Feed) -> Iterator[Piece]:
        """Run the segment over ``feed`` (cut into blocks), yielding one piece each."""

    def close(self) -> None:
        """Release workers (threads, actors); the default holds none."""

    def pieces(self, feed: Feed) -> Iterator[Piece]:
        """Input blocks, cut as the sizer says at the moment each is read."""
        cut = source_chunks(feed.source, self.sizer) if isinstance(feed, Items) \
            else blocks(feed.blocks, self.sizer)
        for seq, (items, origins) in enumerate(cut):
            yield Piece(seq, (origins[0], origins[-1]), (items, origins), len(items))


def build_in_process(plan: StagePlan) -> list[Callables]:
    """Build a plan's operators here, once, before any item: a build error is the
    stage's error (a hub operator that cannot run on the driver says so once)."""
    try:
        return [build(fresh(s.fn_spec()), s.name) for s in plan.stages]
    except StageBuildError as exc:
        if isinstance(exc.__cause__, OperatorNotLocal):  # says the stage must be on Ray
            raise exc.__cause__ from None
        raise PipelineError(
            f"{exc.stage}: the operator could not be built: {exc.error} — fix its "
            "arguments or install what it needs, or run it on backend='ray'") from exc


class Window(Generic[H]):
    """Keep at most ``size`` blocks in flight; yield results in order or as they finish.

    ``submit(piece) -> handle`` starts work, ``result(handle)`` blocks for its output
    and ``first_done(handles)`` returns one finished handle. Input is read only when
    there is room, which is the backpressure: an endless input runs in bounded memory.
    """

    def __init__(
        self,
        submit: Callable[[Piece], H],
        result: Callable[[Piece, H], Piece],
        first_done: Callable[[list[H]], H],
        size: int,
    ) -> None:
        self.submit, self.result, self.first_done, self.size = submit, result, first_done, size
        self.peak = 0

    def run(self, pieces: Iterable[Piece], ordered: bool) -> Iterator[Piece]:
        pending: deque[tuple[Piece, H]] = deque()
        source = iter(pieces)
        while True:
            self._fill(pending, source)
            if not pending:
                return
            piece, handle = pending[0] if ordered else self._take_done(pending)
            if ordered:
                pending.popleft()
            yield self.result(piece, handle)

    def _fill(self, pending: deque[tuple[Piece, H]], source: Iterator[Piece]) -> None:
        while len(pending) < self.size:
            piece = next(source, None)
            if piece is None:
                break
            pending.append((piece, self.submit(piece)))
            self.peak = max(self.peak, len(pending))

    def _take_done(self, pending: deque[tuple[Piece, H]]) -> tuple[Piece, H]:
        done = self.first_done([h for _, h in pending])
        for pair in pending:
            if pair[1] is done:
                pending.remove(pair)
                return pair
        raise AssertionError("first_done returned an unknown handle")  # pragma: no cover
