"""Use a hub Operator inside Ray Data: ``ds.map_batches(ray_data_fn(op))``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._operator import Operator

Batch = dict[str, Any]


def ray_data_fn(op: Operator, column: str = "item", output: str | None = None
                ) -> Callable[[Batch], Batch]:
    """A ``map_batches`` function: ``op.call_batch`` over one column, into ``output``.

    >>> ds.map_batches(ray_data_fn(ops.add_one()), batch_size=256)  # doctest: +SKIP
    """
    def apply(batch: Batch) -> Batch:
        return _apply(op, batch, column, output or column)

    return apply


def ray_data_class(op: Operator, column: str = "item", output: str | None = None) -> type:
    """A ``map_batches`` class: each Ray Data actor builds the operator once.

    >>> ds.map_batches(ray_data_class(ops.running_sum(start=1)), concurrency=2,
    ...                num_cpus=0.5)  # doctest: +SKIP
    """
    class OperatorBatches:
        def __init__(self) -> None:
            self.op = Operator(op.spec, *op.args, **op.kwargs)
            self.op.build()

        def __call__(self, batch: Batch) -> Batch:
            return _apply(self.op, batch, column, output or column)

    OperatorBatches.__name__ = OperatorBatches.__qualname__ = f"Batches_{op.spec.name}"
    return OperatorBatches


def _apply(op: Operator, batch: Batch, column: str, output: str) -> Batch:
    if column not in batch:
        raise KeyError(
            f"operator {op.spec.name!r}: the batch has no column {column!r} "
            f"(columns: {', '.join(batch)}); pass column= to ray_data_fn/ray_data_class"
        )
    return {**batch, output: list(op.call_batch(list(batch[column])))}
