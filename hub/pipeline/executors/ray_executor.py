"""The Ray executor: stages stream into each other through Ray's object store.

Stage N+1's tasks and actors take stage N's output references as arguments, so Ray
moves the blocks between workers and the driver only ever fetches each call's small
``Meta`` (counts, sizes, failures); the final blocks reach the driver only when the
caller reads them (issue 12). One driver loop schedules every stage of a phase, as Ray
Data's streaming executor does: downstream stages first, a stage only while the next
one has room, and new input only while the blocks alive fit a byte budget.

Only the driver feeds the first stage (there is no read task), so a stage's workers may
take every CPU the plan gives them without starving their own input (ray#44687).
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from .._capacity import ClusterView
from .._plan import OBJECT_STORE_FRACTION, StagePlan
from ._base import Executor, Feed, Piece
from .ray_common import Shipped, connect, failure_text, ship, shipped_chain
from .ray_pools import ActorPool, Call, TaskPool
from .warm import WARM_POOLS, WarmPools


@dataclass
class _Flow:
    """One stage of a phase: its pool, the blocks waiting for it and those it runs."""

    plan: StagePlan
    pool: TaskPool | ActorPool
    queue: deque[Piece] = field(default_factory=deque)
    running: dict[Any, tuple[Piece, Call]] = field(default_factory=dict)

    @property
    def idle(self) -> bool:
        return not self.queue and not self.running


class _Sink:
    """Finished pieces of the last stage, released in input order (or as they come)."""

    def __init__(self, ordered: bool) -> None:
        self.ordered = ordered
        self.buffer: dict[int, Piece] = {}
        self.arrived: deque[Piece] = deque()
        self.next = 0

    def add(self, piece: Piece) -> None:
        if self.ordered:
            self.buffer[piece.seq] = piece
        else:
            self.arrived.append(piece)

    def pop(self) -> Iterator[Piece]:
        while self.arrived:
            yield self.arrived.popleft()
        while self.next in self.buffer:
            self.next += 1
            yield self.buffer.pop(self.next - 1)

    @property
    def empty(self) -> bool:
        return not self.buffer and not self.arrived


class RayExecutor(Executor):
    """Ray tasks for function stages, actor pools for class stages, in phases of stages
    that run at the same time (the plan's ``phase``); one phase's output waits in the
    object store for the next."""

    name = "ray"
    parallel = True
    distributed = True

    def __init__(self, plans: Sequence[StagePlan], total: int | None = None,
                 shipped: dict[int, Shipped] | None = None, budget_bytes: int | None = None,
                 warm: WarmPools = WARM_POOLS, fetch: bool = False) -> None:
        """``fetch``: the caller reads every output block (a stream), so the last stage
        returns each block with its meta; else its blocks stay in the object store."""
        super().__init__(plans, total)
        self.fetch = fetch
        self.ray = connect()
        self.shipped = shipped or {id(s): ship(s) for p in self.plans for s in p.stages}
        self.budget = budget_bytes or int(
            ClusterView.from_ray(self.ray).object_store_bytes * OBJECT_STORE_FRACTION)
        self.warm = warm
        self.ordered = all(p.ordered for p in self.plans)
        self._flows: list[_Flow] = []
        self._stop = False  # an item failed with on_error="raise": read no more input

    def execute(self, feed: Feed) -> Iterator[Piece]:
        return self.execute_pieces(self.pieces(feed))

    def execute_pieces(self, pieces: Iterator[Piece]) -> Iterator[Piece]:
        """Run every phase; a phase's output blocks stay in the object store (the
        driver holds references only) until the next phase has run over them."""
        numbers = sorted({p.phase for p in self.plans})
        source = pieces
        for k, number in enumerate(numbers):
            out = self._stream([p for p in self.plans if p.phase == number], source)
            if k == len(numbers) - 1:
                yield from out
            else:
                source = iter(list(out))

    def close(self) -> None:
        flows, self._flows = self._flows, []
        for flow in flows:
            flow.pool.close()
        if flows:
            self.warm.touched()  # what they held shows as free a moment later

    # --- one phase --------------------------------------------------------------------

    def _stream(self, plans: list[StagePlan], source: Iterator[Piece]) -> Iterator[Piece]:
        last = self.plans[-1]
        self._flows = flows = [_Flow(p, self._pool(p, self.fetch and p is last)) for p in plans]
        sink = _Sink(self.ordered)
        alive = {"items": 0, "pieces": 0}  # read and not yet yielded
        reading = True
        try:
            while True:
                reading = reading and self._read(source, flows[0], alive)
                self._dispatch(flows, sink)
                yielded = 0
                for piece in sink.pop():
                    alive["items"] -= piece.source_items
                    alive["pieces"] -= 1
                    yielded += 1
                    yield piece
                if not reading and sink.empty and all(f.idle for f in flows):
                    return
                if not yielded:  # else room was made: read and dispatch before waiting
                    self._wait(flows, sink)
        finally:
            self.close()

    def _pool(self, plan: StagePlan, together: bool) -> TaskPool | ActorPool:
        chain = shipped_chain(plan, self.shipped)
        if plan.pool == "tasks":
            return TaskPool(self.ray, plan, chain, together)
        owner = self.shipped[id(plan.stages[-1])].key
        env = json.dumps(plan.runtime_env, sort_keys=True, default=str)
        key = f"{owner}|{json.dumps(plan.resources, sort_keys=True)}|{env}|{plan.workers}"
        pool = ActorPool(self.ray, plan, chain, key, self.warm, together)
        self.warm.release(self.ray, f"{owner}|")  # the same model kept warm otherwise: stale
        return pool

    def _read(self, source: Iterator[Piece], first: _Flow, alive: dict[str, int]) -> bool:
        """Cut input while the first stage lacks work and the blocks alive fit the byte
        budget (always one block, or nothing would move); False once the input ends."""
        while len(first.queue) < first.plan.in_flight and not self._stop:
            if alive["pieces"] >= self._most_alive(first):
                return True
            upcoming = alive["items"] + self.sizer.length()
            if alive["items"] and self.sizer.footprint(upcoming) > self.budget:
                return True
            piece = next(source, None)
            if piece is None:
                return False
            alive["items"] += piece.source_items
            alive["pieces"] += 1
            first.queue.append(piece)
        return not self._stop

    def _most_alive(self, first: _Flow) -> int:
        """Blocks read and not yet yielded: one per worker until a first block has been
        measured (its size is unknown), then twice what the stages keep in flight (the
        rest wait behind a slow block for their turn in order)."""
        if not self.sizer.measured:
            return first.plan.workers
        return 2 * sum(f.plan.in_flight for f in self._flows)

    def _dispatch(self, flows: list[_Flow], sink: _Sink) -> None:
        """Submit work, downstream first; a stage waits while the next one is full."""
        for i in reversed(range(len(flows))):
            flow, after = flows[i], (flows[i + 1] if i + 1 < len(flows) else None)
            while flow.queue and (after is None or len(after.queue) < after.plan.in_flight):
                piece = flow.queue[0]
                if piece.fatal is None and not flow.pool.has_room():
                    break
                flow.queue.popleft()
                if piece.fatal is not None:  # passes through to be raised in order
                    self._forward(flows, i, piece, sink)
                    continue
                call = flow.pool.submit(piece.data, piece.restart)
                flow.running[call.meta] = (piece, call)
        self.peak_in_flight = max(self.peak_in_flight, sum(len(f.running) for f in flows))

    def _forward(self, flows: list[_Flow], i: int, piece: Piece, sink: _Sink) -> None:
        if i + 1 < len(flows):
            flows[i + 1].queue.append(piece)
        else:
            sink.add(piece)

    def _wait(self, flows: list[_Flow], sink: _Sink) -> None:
        """Wait for any call or actor setup to finish, and take in all that have."""
        owners: dict[Any, tuple[int, Call | None]] = {}
        for i, flow in enumerate(flows):
            owners.update({ref: (i, call) for ref, (_, call) in flow.running.items()})
            owners.update({ref: (i, None) for ref in flow.pool.starting()})
        if not owners:
            raise AssertionError(f"nothing to wait for: {[(f.plan.name, len(f.queue)) for f in flows]}")
        left = [t for f in flows if (t := f.pool.check_started()) is not None]
        refs = list(owners)
        ready, _ = self.ray.wait(refs, num_returns=1, timeout=min(left) if left else None)
        if ready:
            ready, _ = self.ray.wait(refs, num_returns=len(refs), timeout=0)
        for ref in ready:
            i, call = owners[ref]
            if call is None:
                pool = flows[i].pool
                assert isinstance(pool, ActorPool)
                pool.ready(ref)
            else:
                self._finished(flows, i, call, sink)

    def _finished(self, flows: list[_Flow], i: int, call: Call, sink: _Sink) -> None:
        flow = flows[i]
        piece, _ = flow.running.pop(call.meta)
        flow.pool.done(call)
        try:
            result = self.ray.get(call.meta)
        except self.ray.exceptions.RayError as exc:
            what = f"{flow.plan.name} on items {piece.span[0]}..{piece.span[1]}"
            raise failure_text(self.ray, exc, flow.plan, what) from exc
        data, meta = result if call.together else (call.out, result)
        self.sizer.observe(piece.source_items, meta)
        done = piece.after(data, meta)
        self._stop = self._stop or done.fatal is not None
        self._forward(flows, i, done, sink)
