"""The executor interface: run a stage over chunks of items, with bounded work in flight."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any, ClassVar, Generic, TypeVar

from .._stage import Outcome, Stage

Chunk = tuple[int, list[Any]]  # (index of the first item, the items)
ChunkResult = tuple[Chunk, list[Outcome]]  # the chunk and one outcome per item
H = TypeVar("H")


class Executor(ABC):
    """Runs one stage; switching backend swaps the executor, nothing else.

    ``execute`` yields one result per chunk (in input order unless the stage
    asks for ``ordered=False``); ``close`` releases workers. Capabilities are
    class attributes.
    """

    name: ClassVar[str]
    parallel: ClassVar[bool] = False
    distributed: ClassVar[bool] = False
    default_chunk_size: ClassVar[int] = 256
    peak_in_flight: int = 0  # most chunks submitted and not yet yielded

    def __init__(self, num_worker: int | None = None) -> None:
        self.num_worker = num_worker

    @abstractmethod
    def execute(self, stage: Stage, chunks: Iterable[Chunk]) -> Iterator[ChunkResult]:
        """Run ``stage`` over ``chunks``, yielding ``(chunk, outcomes)`` per chunk."""

    def close(self) -> None:
        """Release workers (threads, actors); the default holds none."""


class Window(Generic[H]):
    """Keep at most ``size`` chunks in flight; yield results in order or as they finish.

    ``submit(chunk) -> handle`` starts work, ``result(handle)`` blocks for its
    outcomes and ``first_done(handles)`` returns one finished handle. Input is
    read only when there is room, which is the backpressure: an endless input
    runs in bounded memory.
    """

    def __init__(
        self,
        submit: Callable[[Chunk], H],
        result: Callable[[H], list[Outcome]],
        first_done: Callable[[list[H]], H],
        size: int,
    ) -> None:
        self.submit, self.result, self.first_done, self.size = submit, result, first_done, size
        self.peak = 0

    def run(self, chunks: Iterable[Chunk], ordered: bool) -> Iterator[ChunkResult]:
        pending: deque[tuple[Chunk, H]] = deque()
        source = iter(chunks)
        while True:
            self._fill(pending, source)
            if not pending:
                return
            chunk, handle = pending[0] if ordered else self._take_done(pending)
            if ordered:
                pending.popleft()
            yield chunk, self.result(handle)

    def _fill(self, pending: deque[tuple[Chunk, H]], source: Iterator[Chunk]) -> None:
        while len(pending) < self.size:
            chunk = next(source, None)
            if chunk is None:
                break
            pending.append((chunk, self.submit(chunk)))
            self.peak = max(self.peak, len(pending))

    def _take_done(self, pending: deque[tuple[Chunk, H]]) -> tuple[Chunk, H]:
        done = self.first_done([h for _, h in pending])
        for pair in pending:
            if pair[1] is done:
                pending.remove(pair)
                return pair
        raise AssertionError("first_done returned an unknown handle")  # pragma: no cover
