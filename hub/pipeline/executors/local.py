"""The in-process executor: the stage runs in the calling thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator

from ..._exceptions import PipelineError
from .._worker import run_chain
from ._base import Executor, Feed, Piece, build_in_process


class LocalExecutor(Executor):
    """One worker, the caller: nothing to copy or close."""

    name = "local"

    def execute(self, feed: Feed) -> Iterator[Piece]:
        (plan,) = self.plans
        timed = [s.name for s in plan.stages if s.options.timeout]
        if timed and threading.current_thread() is not threading.main_thread():
            raise PipelineError(
                f"{', '.join(timed)}: timeout= on backend='local' interrupts the call with "
                "SIGALRM, which only the main thread receives — read the collection in the "
                "main thread or use backend='ray'")
        fns = build_in_process(plan)  # before the first item is read
        calls = plan.calls([str(i) for i in range(len(plan.stages))])
        for piece in self.pieces(feed):
            self.peak_in_flight = 1
            data, meta = run_chain(calls, fns, piece.data)
            self.sizer.observe(piece.source_items, meta)
            yield piece.after(data, meta)
