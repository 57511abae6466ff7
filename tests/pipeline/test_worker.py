"""The worker runtime on its own: a chain of stages over one block, in this process."""

from __future__ import annotations

import signal
import threading
import time
from typing import Any

import pytest

from hub.pipeline._worker import Callables, CallSpec, build, deadline, pickled_size, run_chain


def call(kind: str = "map", name: str = "map(f)", on_error: str = "collect",
         timeout: float | None = None, check_output: bool = False,
         batch_size: int | None = None) -> CallSpec:
    return {"key": name, "kind": kind, "name": name, "on_error": on_error,
            "timeout": timeout, "batch_size": batch_size, "check_output": check_output}


def fns(*functions: Any) -> list[Callables]:
    return [build(("function", f), "stage") for f in functions]


def test_a_chain_keeps_each_item_s_origin_through_filter_and_flat_map() -> None:
    calls = [call("filter", "filter(odd)"), call("flat_map", "flat_map(twice)"),
             call("map", "map(inverse)")]
    (items, origins), meta = run_chain(
        calls, fns(lambda x: x % 2, lambda x: [x, x], lambda x: 1 / (x - 3)),
        (list(range(10, 16)), range(10, 16)))
    # 11, 13, 15 pass; each twice; none is 3, so nothing fails
    assert items == [1 / 8, 1 / 8, 1 / 10, 1 / 10, 1 / 12, 1 / 12]
    assert list(origins) == [11, 11, 13, 13, 15, 15]
    assert meta["count"] == 6 and meta["failures"] == [] and meta["fatal"] is None


def test_failures_follow_each_stage_s_policy_and_name_the_input_position() -> None:
    chain = [call("map", "map(inverse)", "collect"), call("map", "map(negate)", "skip")]
    (items, origins), meta = run_chain(chain, fns(lambda x: 1 / x, lambda y: -y),
                                       ([1, 0, 2], range(40, 43)))
    assert items == [-1.0, -0.5] and list(origins) == [40, 42]
    (failure,) = meta["failures"]
    assert failure["index"] == 41 and failure["item"] == 0 and failure["stage"] == "map(inverse)"
    assert failure["error"].startswith("ZeroDivisionError: division by zero")
    _, meta = run_chain([call(on_error="raise")], fns(lambda x: 1 / x), ([1, 0, 2], range(3)))
    assert meta["fatal"] is not None and meta["fatal"]["index"] == 1 and meta["count"] == 0


def test_an_output_that_cannot_be_pickled_is_a_per_item_error() -> None:
    lock = threading.Lock()
    produce = [call("map", "map(maybe_lock)", check_output=True)]
    (items, _), meta = run_chain(produce, fns(lambda x: lock if x == 1 else x), ([0, 1, 2], range(3)))
    assert items == [0, 2]
    (failure,) = meta["failures"]
    assert failure["index"] == 1
    assert "map(maybe_lock) returned a lock that cannot be sent to the next stage" in failure["error"]
    assert "cannot pickle '_thread.lock' object" in failure["error"]


def test_sizes_count_large_buffers_without_copying() -> None:
    np = pytest.importorskip("numpy")
    size = pickled_size(np.zeros(1 << 20, dtype=np.uint8))
    assert size is not None and (1 << 20) <= size < (1 << 20) + 1024
    assert pickled_size(threading.Lock()) is None
    _, meta = run_chain([call()], fns(lambda i: np.zeros(1 << 20, np.uint8)), ([0] * 4, range(4)))
    assert 4 << 20 <= meta["peak_bytes"] < 5 << 20


@pytest.mark.slow  # waits out its timeouts
def test_a_timeout_interrupts_a_hung_call_and_keeps_an_outer_alarm() -> None:
    fired: list[int] = []
    previous = signal.signal(signal.SIGALRM, lambda *_: fired.append(1))
    signal.setitimer(signal.ITIMER_REAL, 0.8)  # someone else's alarm (pytest-timeout's kind)
    try:
        started = time.monotonic()
        (items, _), meta = run_chain([call(timeout=0.2, name="map(nap)")],
                                     fns(lambda s: time.sleep(s) or s), ([0.0, 30.0, 0.0], range(3)))
        assert time.monotonic() - started < 5
        assert items == [0.0, 0.0]
        (failure,) = meta["failures"]
        assert failure["index"] == 1
        assert "CallTimeout: map(nap): the call took longer than timeout=0.2 s" in failure["error"]
        time.sleep(1.0)
        assert fired == [1]  # the outer alarm still went off, once, on time
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_a_timeout_off_the_main_thread_is_refused() -> None:
    errors: list[str] = []

    def run() -> None:
        try:
            with deadline(1.0, "map(f)", kill_hung=False):
                pass
        except RuntimeError as exc:
            errors.append(str(exc))

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert errors == ["map(f): timeout= needs the main thread (use backend='ray')"]


def test_a_batch_call_that_fails_is_retried_item_by_item() -> None:
    calls_seen: list[int] = []

    class Op:  # what build() returns for a batch operator: one item, and a list
        def __call__(self, x: int) -> int:
            return 10 // x

        def call_batch(self, xs: list[int]) -> list[int]:
            calls_seen.append(len(xs))
            return [10 // x for x in xs]

    op = Op()
    (items, _), meta = run_chain([call(batch_size=2)], [(op, op.call_batch)],
                                 ([1, 2, 0, 5, 10], range(5)))
    assert calls_seen == [2, 2, 1]  # batches of 2; the one holding 0 failed, then per item
    assert items == [10, 5, 2, 1] and meta["failures"][0]["index"] == 2


def test_a_batch_that_times_out_fails_its_items_without_retrying_each() -> None:
    """``timeout=`` bounds each call, and a batch is one call: retried item by item, a
    hung batch of n would wait (1 + n) timeouts."""
    one_by_one: list[float] = []

    class Op:
        def __call__(self, x: float) -> float:
            one_by_one.append(x)
            return x

        def call_batch(self, xs: list[float]) -> list[float]:
            time.sleep(max(xs))
            return xs

    op = Op()
    started = time.monotonic()
    (items, origins), meta = run_chain([call(batch_size=4, timeout=0.3, name="map(op)")],
                                       [(op, op.call_batch)],
                                       ([0.0, 30.0, 0.0, 0.0, 0.0, 0.0], range(6)))
    assert time.monotonic() - started < 3
    assert items == [0.0, 0.0] and list(origins) == [4, 5] and one_by_one == []
    assert [f["index"] for f in meta["failures"]] == [0, 1, 2, 3]
    assert all(f["error"].startswith("CallTimeout: map(op): the call took longer than "
                                     "timeout=0.3 s") for f in meta["failures"])


def test_an_unpicklable_value_kept_by_a_fused_filter_fails_only_its_item() -> None:
    """map -> filter fused on Ray: the map's outputs leave the worker through the filter,
    so the map checks them, under its own on_error."""
    lock = threading.Lock()
    chain = [call("map", "map(maybe_lock)", on_error="skip", check_output=True),
             call("filter", "filter(keep)")]
    (items, origins), meta = run_chain(chain, fns(lambda x: lock if x == 1 else x,
                                                  lambda x: True), ([0, 1, 2], range(3)))
    assert items == [0, 2] and list(origins) == [0, 2]
    assert meta["failures"] == [] and meta["fatal"] is None
