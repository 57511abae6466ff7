"""The thread executor: chunks on a thread pool, one built operator per thread."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from .._stage import Outcome, Stage
from ._base import Chunk, ChunkResult, Executor, Window


class ThreadExecutor(Executor):
    """``num_worker`` threads; class operators are built once per thread (not shared)."""

    name = "thread"
    parallel = True
    default_chunk_size = 64

    def __init__(self, num_worker: int | None = None) -> None:
        self.workers = num_worker or min(32, (os.cpu_count() or 1) + 4)
        super().__init__(self.workers)
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="opshub")
        self._local = threading.local()

    def execute(self, stage: Stage, chunks: Iterable[Chunk]) -> Iterator[ChunkResult]:
        def submit(chunk: Chunk) -> Future[list[Outcome]]:
            return self._pool.submit(self._run, stage, chunk[1])

        window = Window(submit, Future.result, _first_done, 2 * self.workers)
        try:
            yield from window.run(chunks, stage.options.ordered)
        finally:
            self.peak_in_flight = window.peak

    def _run(self, stage: Stage, items: list[Any]) -> list[Outcome]:
        own: dict[int, Stage] | None = getattr(self._local, "stages", None)
        if own is None:
            own = self._local.stages = {}
        if id(stage) not in own:
            own[id(stage)] = stage.fresh()
        return own[id(stage)].build()(items)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def _first_done(futures: list[Future[list[Outcome]]]) -> Future[list[Outcome]]:
    return next(iter(wait(futures, return_when=FIRST_COMPLETED).done))
