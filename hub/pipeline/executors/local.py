"""The in-process executor: the stage runs in the calling thread."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from .._stage import Stage
from ._base import Chunk, ChunkResult, Executor


class LocalExecutor(Executor):
    """One worker, the caller (``num_worker`` is ignored): nothing to copy or close."""

    name = "local"

    def execute(self, stage: Stage, chunks: Iterable[Chunk]) -> Iterator[ChunkResult]:
        run = stage.build()
        for chunk in chunks:
            self.peak_in_flight = 1
            yield chunk, run(chunk[1])
