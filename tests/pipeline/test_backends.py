"""Every backend gives the same results, fused or not: in order, each item exactly once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hub.pipeline import DataCollection, ItemError

N = 10_000
BACKENDS = [
    pytest.param("local"),
    pytest.param("thread"),
    pytest.param("ray", marks=pytest.mark.ray),
]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "ray":
        request.getfixturevalue("ray_here")
    return str(request.param)


def workers(backend: str) -> int | None:
    return None if backend == "local" else 2


def tag(x: int) -> tuple[int, int]:
    return x, x * x


def test_order_and_exactly_once_for_10000_items(backend: str) -> None:
    out = DataCollection.range(N).map(tag, backend=backend, num_worker=workers(backend),
                                      runtime_env=False)
    assert out.to_list() == [(x, x * x) for x in range(N)]


def test_unordered_results_hold_every_item_once(backend: str) -> None:
    out = DataCollection.range(N).stream().map(
        tag, backend=backend, num_worker=workers(backend), ordered=False, chunk_size=100,
        runtime_env=False
    ).to_list()
    assert len(out) == N and sorted(out) == [(x, x * x) for x in range(N)]


def explode(x: int) -> list[int]:
    return [x] * (x % 3)


@pytest.mark.parametrize("fuse", [True, False])
def test_the_same_results_on_every_backend_fused_or_not(
    backend: str, fuse: bool, test_ops: Path
) -> None:
    from hub import ops

    stages = DataCollection.range(3000).stream().set_parallel(workers(backend), backend=backend)
    out = (  # blocks of 64 are cut before the first stage (a later one may not say)
        stages.map(ops.add_one(), runtime_env=False, chunk_size=64)
        .filter(lambda x: x % 2 == 0, runtime_env=False, fuse=fuse)
        .flat_map(explode, runtime_env=False, fuse=fuse, on_error="collect")
        .map(ops.running_sum(start=100), runtime_env=False, fuse=fuse)
    )
    expected = [y + 100 for x in range(1, 3001) if x % 2 == 0 for y in explode(x)]
    assert out.to_list() == expected and out.errors == []
    stages_planned = sum(len(s.stages) for s in out.plan().steps)
    assert (len(out.plan().steps) < 4) == fuse and stages_planned == 4


def fragile(x: int) -> float:
    if x % 1000 == 7:
        raise ValueError(f"bad item {x}")
    return x / 2


def test_on_error_raise_names_the_item_and_the_operator(backend: str) -> None:
    with pytest.raises(ItemError) as info:
        DataCollection.range(N).map(fragile, backend=backend, runtime_env=False).to_list()
    assert info.value.index == 7 and info.value.item == 7
    message = str(info.value)
    assert "map(fragile) failed on item 7 (7): ValueError: bad item 7" in message
    assert "on_error='skip'" in message


def test_on_error_skip_drops_failed_items(backend: str) -> None:
    out = DataCollection.range(N).map(fragile, backend=backend, on_error="skip", runtime_env=False)
    assert out.to_list() == [x / 2 for x in range(N) if x % 1000 != 7]
    assert out.errors == []


def test_on_error_collect_keeps_errors_beside_results(backend: str) -> None:
    out = DataCollection.range(N).stream().map(
        fragile, backend=backend, on_error="collect", runtime_env=False
    )
    results: list[Any] = out.to_list()
    assert len(results) == N - 10
    assert [(e.index, e.item) for e in out.errors] == [(k * 1000 + 7,) * 2 for k in range(10)]
    assert out.errors[0].error.startswith("ValueError: bad item 7")
    assert out.errors[0].stage == "map(fragile)"
