"""The thread executor: blocks on a thread pool, one built operator per thread."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from .._plan import StagePlan
from .._worker import Block, Callables, CallSpec, Meta, run_chain
from ._base import Executor, Feed, Piece, Window, build_in_process

Result = tuple[Block, Meta]


class ThreadExecutor(Executor):
    """``workers`` threads; class operators are built once per thread (not shared).

    The first copy is built in the caller before any item, so an operator that cannot
    be built fails the stage once instead of failing every item.
    """

    name = "thread"
    parallel = True

    def __init__(self, plans: Sequence[StagePlan], total: int | None = None) -> None:
        super().__init__(plans, total)
        (self.plan,) = self.plans
        self._pool = ThreadPoolExecutor(self.plan.workers, thread_name_prefix="opshub")
        self._spare: queue.SimpleQueue[list[Callables]] = queue.SimpleQueue()
        self._local = threading.local()

    def execute(self, feed: Feed) -> Iterator[Piece]:
        self._spare.put(build_in_process(self.plan))
        calls = self.plan.calls([str(i) for i in range(len(self.plan.stages))])

        def submit(piece: Piece) -> Future[Result]:
            return self._pool.submit(self._run, calls, piece.data)

        def result(piece: Piece, future: Future[Result]) -> Piece:
            data, meta = future.result()
            self.sizer.observe(piece.source_items, meta)
            return piece.after(data, meta)

        window = Window(submit, result, _first_done, self.plan.in_flight)
        try:
            yield from window.run(self.pieces(feed), self.plan.ordered)
        finally:
            self.peak_in_flight = window.peak

    def _run(self, calls: list[CallSpec], block: Block) -> Result:
        fns: list[Callables] | None = getattr(self._local, "fns", None)
        if fns is None:
            try:
                fns = self._spare.get_nowait()
            except queue.Empty:
                fns = build_in_process(self.plan)
            self._local.fns = fns
        return run_chain(calls, fns, block)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def _first_done(futures: list[Future[Result]]) -> Future[Result]:
    return next(iter(wait(futures, return_when=FIRST_COMPLETED).done))
