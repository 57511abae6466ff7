"""Run a plan: its segments chained in the driver, the error policy, progress, results.

A segment is one step in the caller or on threads, a ``batch``/``unbatch`` regroup, or
consecutive Ray stages (which hand blocks to each other inside Ray). Between segments
items pass as ``(items, origins)`` chunks, so a failure's index is always the item's
position in the run's input.
"""

from __future__ import annotations

import functools
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence, Sized
from contextlib import closing
from dataclasses import dataclass
from typing import Any

from .._exceptions import ItemError
from ._plan import Env, Plan, Regroup, StagePlan, make_plan
from ._stage import ItemFailure, Stage
from ._worker import Block
from .executors import Executor, make_executor
from .executors._base import Chunks, Feed, Items, Piece

PROGRESS_DELAY = 1.0  # seconds before a progress bar shows: a quick pipeline prints none

Segment = list[StagePlan] | Regroup


@dataclass
class RayResult:
    """The output blocks of a run, kept in Ray's object store: what an eager collection
    holds after Ray stages. Iterating fetches one block at a time."""

    pieces: list[Piece]

    def __len__(self) -> int:
        return sum(p.meta["count"] for p in self.pieces if p.meta is not None)

    def __iter__(self) -> Iterator[Any]:
        for piece in self.pieces:
            yield from _block(piece)[0]


Source = Iterable[Any] | RayResult


@dataclass(frozen=True)
class Prepared:
    """A plan and, for its Ray stages, the stages pickled once (their content keys)."""

    plan: Plan
    shipped: dict[int, Any]


def prepare(steps: Sequence[Stage | Regroup], run: bool = True) -> Prepared:
    """Plan ``steps`` against the cluster as it is (connecting to Ray if a stage needs it).

    ``run=False`` only describes (``explain()``): it builds no runtime_env and releases
    no idle warm pool; the run decides both.
    """
    on_ray = [s for s in steps if isinstance(s, Stage) and s.options.backend == "ray"]
    if not on_ray:
        return Prepared(make_plan(steps), {})
    from .executors.ray_common import connect, pending_env, settled_plan, ship, stage_envs
    from .executors.warm import WARM_POOLS

    ray = connect()
    shipped = {id(s): ship(s) for s in on_ray}  # an unpicklable stage fails here, first
    owners = {shipped[id(s)].key for s in on_ray if s.is_class}
    # built once per stage (stages hash by identity), though the plan may be made again;
    # one planner for the run's stages
    env_of: Callable[[Stage], Env] = functools.cache(stage_envs() if run else pending_env)

    plan = settled_plan(ray, steps, env_of, owners, WARM_POOLS)
    if run and plan.release:
        WARM_POOLS.release_keys(ray, plan.release)
    return Prepared(plan, shipped)


def stream(steps: Sequence[Stage | Regroup], source: Source,
           errors: list[ItemFailure]) -> Iterator[Any]:
    """The run's outputs, lazily; failed items go by each stage's ``on_error``."""
    prepared = prepare(steps)
    for piece in _run(prepared, _segments(prepared.plan), source, errors, fetch=True):
        yield from _block(piece)[0]


def materialize(steps: Sequence[Stage | Regroup], source: Source,
                errors: list[ItemFailure]) -> list[Any] | RayResult:
    """The run's outputs held: in Ray's object store after Ray stages, else a list."""
    prepared = prepare(steps)
    segments = _segments(prepared.plan)
    pieces = _run(prepared, segments, source, errors)
    last = segments[-1]
    if isinstance(last, list) and last[0].on_ray:
        return RayResult(list(pieces))
    return [x for piece in pieces for x in _block(piece)[0]]


def _segments(plan: Plan) -> list[Segment]:
    segments: list[Segment] = []
    for step in plan.steps:
        last = segments[-1] if segments else None
        if isinstance(step, StagePlan) and step.on_ray and isinstance(last, list) \
                and last[0].on_ray:
            last.append(step)
        else:
            segments.append(step if isinstance(step, Regroup) else [step])
    for note in plan.notes:
        warnings.warn(note, RuntimeWarning, stacklevel=4)
    return segments


def _run(prepared: Prepared, segments: list[Segment], source: Source,
         errors: list[ItemFailure], fetch: bool = False) -> Iterator[Piece]:
    """Chain the segments; yield the last one's pieces, settled (``fetch``: the caller
    reads them all, so the last Ray stage may send its blocks with their meta)."""
    feed: RayResult | Feed = source if isinstance(source, RayResult) else Items(source)
    for segment in segments[:-1]:
        feed = Chunks(_block(p) for p in _run_segment(prepared, segment, feed, errors, True))
    yield from _run_segment(prepared, segments[-1], feed, errors, fetch)


def _run_segment(prepared: Prepared, segment: Segment, feed: RayResult | Feed,
                 errors: list[ItemFailure], fetch: bool) -> Iterator[Piece]:
    if isinstance(segment, Regroup):
        yield from _regroup(segment, _pairs(feed))
        return
    executor = _executor(prepared, segment, _total(feed), fetch)
    with closing(executor), _progress(segment, executor) as bar:
        for piece in _execute(executor, feed):
            _settle(piece, errors)
            bar.update(piece.meta["count"] if piece.meta else 0)
            yield piece


def _total(feed: RayResult | Feed) -> int | None:
    if isinstance(feed, RayResult):
        return len(feed)
    if isinstance(feed, Items) and isinstance(feed.source, Sized):
        return len(feed.source)
    return None


def _executor(prepared: Prepared, segment: list[StagePlan], total: int | None,
              fetch: bool) -> Executor:
    if segment[0].on_ray:
        from .executors.ray_executor import RayExecutor

        return RayExecutor(segment, total, prepared.shipped, prepared.plan.budget_bytes,
                           fetch=fetch)
    return make_executor(segment[0], total)


def _execute(executor: Executor, feed: RayResult | Feed) -> Iterator[Piece]:
    if not isinstance(feed, RayResult):
        return executor.execute(feed)
    if executor.distributed:  # kept blocks go on from the object store, unfetched
        from .executors.ray_executor import RayExecutor

        assert isinstance(executor, RayExecutor)
        return executor.execute_pieces(_renumbered(feed.pieces))
    return executor.execute(Chunks(_refetched(feed.pieces)))


def _renumbered(pieces: list[Piece]) -> Iterator[Piece]:
    """A kept result as the input of a new run: positions count from 0 again."""
    start = 0
    for seq, piece in enumerate(pieces):
        count = piece.meta["count"] if piece.meta else 0
        yield Piece(seq, (start, start + max(count, 1) - 1), piece.data, count, restart=start)
        start += count


def _refetched(pieces: list[Piece]) -> Iterator[Block]:
    start = 0
    for piece in pieces:
        items = _block(piece)[0]
        yield items, range(start, start + len(items))
        start += len(items)


def _block(piece: Piece) -> Block:
    if isinstance(piece.data, tuple):
        return piece.data
    import ray

    block: Block = ray.get(piece.data)
    return block


def _pairs(feed: RayResult | Feed) -> Iterator[tuple[Any, int]]:
    """(item, origin) pairs of any feed."""
    if isinstance(feed, Chunks):
        for items, origins in feed.blocks:
            yield from zip(items, origins)
    else:
        yield from ((x, i) for i, x in enumerate(feed if isinstance(feed, RayResult)
                                                 else feed.source))


def _regroup(step: Regroup, pairs: Iterator[tuple[Any, int]]) -> Iterator[Piece]:
    """``batch``: lists of ``size`` items, each at its first item's origin; ``unbatch``:
    every item of every list, at its list's origin."""
    seq = 0
    while True:
        if step.size is None:
            pair = next(pairs, None)
            if pair is None:
                return
            items, origin = list(pair[0]), pair[1]
            block: Block = (items, [origin] * len(items))
        else:
            group = [pair for _, pair in zip(range(step.size), pairs)]
            if not group or (len(group) < step.size and step.drop_tail):
                return
            block = ([[x for x, _ in group]], [group[0][1]])
        yield Piece(seq, (block[1][0] if block[1] else 0,) * 2, block, len(block[0]),
                    {"count": len(block[0]), "nbytes": 0, "peak_bytes": 0, "seconds": 0.0,
                     "failures": [], "fatal": None})
        seq += 1


def _settle(piece: Piece, errors: list[ItemFailure]) -> None:
    for f in piece.failures:
        errors.append(ItemFailure(f["index"], f["item"], f["error"], f["stage"]))
    if piece.fatal is not None:
        f = piece.fatal
        raise ItemError(f["stage"], f["index"], f["item"], f["error"])


def _progress(segment: list[StagePlan], executor: Executor) -> Any:
    from tqdm.auto import tqdm

    asked = {s.options.progress for p in segment for s in p.stages} - {None}
    show = True in asked if asked else executor.parallel and sys.stderr.isatty()
    name = " + ".join(p.name for p in segment)
    return tqdm(desc=name, unit="item", disable=not show, delay=PROGRESS_DELAY, leave=False)
