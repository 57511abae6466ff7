"""Transport blocks sized in bytes and time, learnt from what flows (issue 12).

A block is cut from a segment's input. Its length is chosen so that the largest form
its items take anywhere in the segment (1 MiB arrays after a decode, though the input
was file names) stays near ``block_bytes``, and one block is about ``BLOCK_SECONDS`` of
work at the slowest stage. Until a first block has been measured, blocks hold one item.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ._plan import BLOCK_SECONDS, MAX_BLOCK_ITEMS, StagePlan
from ._worker import Block, Meta

SPREAD = 4  # blocks per worker at least, when the input's length is known
_DECAY = 0.8  # per observation: a size estimate rises at once and falls slowly


@dataclass
class BlockSizer:
    """Items per block for one segment of ``StagePlan``s (stages that stream together)."""

    fixed: int | None
    block_bytes: int
    multiple: int = 1
    cap: int = MAX_BLOCK_ITEMS
    bytes_per_item: float = 0.0
    seconds_per_item: float = 0.0
    measured: bool = False

    @classmethod
    def for_plans(cls, plans: Sequence[StagePlan], total: int | None) -> BlockSizer:
        """``total``: the input's length when known, to give every worker blocks."""
        first = plans[0]
        cap = MAX_BLOCK_ITEMS
        if total is not None:
            workers = max(p.workers for p in plans)
            cap = max(1, min(cap, -(-total // (workers * SPREAD))))
        multiple = next((p.batch_size for p in plans if p.batch_size), None) or 1
        return cls(first.chunk_size, min(p.block_bytes for p in plans), multiple, cap)

    def length(self) -> int:
        if self.fixed:
            return self.fixed
        if not self.measured:
            return 1
        length = float(self.cap)
        if self.bytes_per_item > 0:
            length = min(length, self.block_bytes / self.bytes_per_item)
        if self.seconds_per_item > 0:
            length = min(length, BLOCK_SECONDS / self.seconds_per_item)
        whole = max(1, int(length))
        return max(self.multiple, whole // self.multiple * self.multiple) \
            if self.multiple > 1 else whole

    def observe(self, source_items: int, meta: Meta) -> None:
        """Learn from one finished call over a block cut from ``source_items`` inputs."""
        if source_items <= 0:
            return
        self.bytes_per_item = _rise_fast(self.bytes_per_item, meta["peak_bytes"] / source_items)
        self.seconds_per_item = _rise_fast(self.seconds_per_item, meta["seconds"] / source_items)
        self.measured = True

    def footprint(self, source_items: int) -> float:
        """Bytes a block of ``source_items`` inputs may hold in the object store: its
        largest form, twice (a call's input and output are alive together)."""
        return 2 * source_items * max(self.bytes_per_item, 1.0)


def _rise_fast(old: float, new: float) -> float:
    return new if new >= old else _DECAY * old + (1 - _DECAY) * new


def blocks(chunks: Iterable[Block], sizer: BlockSizer) -> Iterator[Block]:
    """Re-cut a stream of ``(items, origins)`` chunks into blocks of ``sizer.length()``."""
    items: list[Any] = []
    origins: list[int] = []
    for chunk_items, chunk_origins in chunks:
        items.extend(chunk_items)
        origins.extend(chunk_origins)
        while len(items) >= sizer.length():
            n = sizer.length()
            yield items[:n], _compact(origins[:n])
            del items[:n], origins[:n]
    if items:
        yield items, _compact(origins)


def source_chunks(items: Iterable[Any], sizer: BlockSizer) -> Iterator[Block]:
    """The run's input as blocks; origins are the input positions."""
    source = iter(items)
    start = 0
    while True:
        n = sizer.length()
        block = [x for _, x in zip(range(n), source)]
        if not block:
            return
        yield block, range(start, start + len(block))
        start += len(block)


def _compact(origins: list[int]) -> Sequence[int]:
    """A ``range`` when the origins are consecutive (cheaper to ship than a list)."""
    consecutive = range(origins[0], origins[0] + len(origins)) if origins else range(0)
    return consecutive if origins == list(consecutive) else origins
