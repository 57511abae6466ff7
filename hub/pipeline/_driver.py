"""Run one stage over an iterable: chunking, the error policy and the progress bar."""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Iterable, Iterator, Sized
from contextlib import closing
from typing import Any

from .._exceptions import ItemError
from ._stage import ItemFailure, Outcome, Stage
from .executors import Executor, make_executor
from .executors._base import Chunk


def run_stage(stage: Stage, items: Iterable[Any], errors: list[ItemFailure]) -> Iterator[Any]:
    """Yield the stage's outputs, lazily; failed items go by ``stage.options.on_error``."""
    opts = stage.options
    executor = make_executor(opts.backend, opts.num_worker)
    size = opts.chunk_size or spread_chunk_size(items, executor)
    with closing(executor), _progress(stage, executor) as bar:
        for chunk, outcomes in executor.execute(stage, chunked(items, size)):
            yield from _outputs(stage, chunk, outcomes, errors)
            bar.update(len(outcomes))


CHUNKS_PER_WORKER = 4


def spread_chunk_size(items: Iterable[Any], executor: Executor) -> int:
    """The executor's default chunk size, smaller for a short input of known length so
    that every worker gets chunks (128 images in one 256-item chunk would keep one
    actor busy and the other idle)."""
    size = executor.default_chunk_size
    if not executor.parallel or not isinstance(items, Sized):
        return size
    workers = executor.num_worker or os.cpu_count() or 1
    return max(1, min(size, -(-len(items) // (workers * CHUNKS_PER_WORKER))))


def chunked(items: Iterable[Any], size: int) -> Iterator[Chunk]:
    """``(start index, list of at most size items)``, read lazily."""
    source = iter(items)
    for start in itertools.count(0, size):
        chunk = list(itertools.islice(source, size))
        if not chunk:
            return
        yield start, chunk


def _outputs(
    stage: Stage, chunk: Chunk, outcomes: list[Outcome], errors: list[ItemFailure]
) -> Iterator[Any]:
    start, items = chunk
    for offset, (ok, value) in enumerate(outcomes):
        if ok:
            yield from value
        else:
            _failed(stage, ItemFailure(start + offset, items[offset], str(value), stage.name),
                    errors)


def _failed(stage: Stage, failure: ItemFailure, errors: list[ItemFailure]) -> None:
    if stage.options.on_error == "raise":
        raise ItemError(stage.name, failure.index, failure.item, failure.error)
    if stage.options.on_error == "collect":
        errors.append(failure)


def _progress(stage: Stage, executor: Executor) -> Any:
    from tqdm.auto import tqdm  # type: ignore[import-untyped,unused-ignore]

    show = stage.options.progress
    if show is None:
        show = executor.parallel and sys.stderr.isatty()
    return tqdm(desc=stage.name, unit="item", disable=not show, delay=1.0, leave=False)
