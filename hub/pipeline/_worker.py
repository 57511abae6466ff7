"""What runs inside a worker: a chain of fused stages applied to one block of items.

The same code runs in the driver (backend "local"), on threads and in Ray workers.
It imports only the standard library (and Ray's cloudpickle, inside Ray workers), and
the Ray backend ships this module *by value*, so a node with nothing but
``ray[default]`` runs plain-function and ``per_worker`` stages without any env (issue 12).

Wire shapes are builtins (TypedDicts, tuples, ranges), so no class travels with a block:

- a block is ``(items, origins)``: ``origins[i]`` is the run's input index item ``i``
  came from (a ``range`` while nothing was filtered or expanded);
- a chain is ``(calls, fns)``: one :class:`CallSpec` and one built ``Callables`` per stage;
- a call returns ``(block, meta)``; :class:`Meta` carries counts, sizes and failures.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import Any, TypedDict

Block = tuple[list[Any], Sequence[int]]
Callables = tuple[Callable[[Any], Any], Callable[[list[Any]], list[Any]] | None]
# (one item -> value, a list -> values or None): how a built stage is called.
FnSpec = tuple[Any, ...]  # ("function", fn) | ("class", cls, args, kwargs) | ("operator", op)

SAMPLE = 8  # items measured per block boundary (sizes are extrapolated from them)
HUNG_GRACE = 2.0  # seconds past its timeout before a call that ignores it is killed


class CallSpec(TypedDict):
    """How a worker applies one stage: its built function (by ``key``) and its policies."""

    key: str
    kind: str  # "map" | "filter" | "flat_map"
    name: str
    on_error: str  # "raise" | "skip" | "collect"
    timeout: float | None
    batch_size: int | None
    check_output: bool  # the block leaves this process after this stage: outputs must pickle


class Failure(TypedDict):
    """One item that failed in a stage; ``index`` is its position in the run's input."""

    index: int
    item: Any
    error: str
    stage: str
    policy: str


class Meta(TypedDict):
    """What the driver learns about a block it does not fetch: counts, bytes, failures."""

    count: int
    nbytes: int  # the output block, estimated
    peak_bytes: int  # the largest boundary of the chain (input, between stages, output)
    seconds: float
    failures: list[Failure]
    fatal: Failure | None  # an item failed in an on_error="raise" stage: the block stops


class StageBuildError(Exception):
    """Raised in a worker when a stage's operator cannot be built (imported or constructed)."""

    def __init__(self, stage: str, error: str) -> None:
        super().__init__(stage, error)
        self.stage, self.error = stage, error

    def __str__(self) -> str:
        return f"{self.stage}: {self.error}"


class CallTimeout(TimeoutError):
    """Raised inside a call that runs longer than its stage's ``timeout=``."""


# --- building -----------------------------------------------------------------------


def build(fn: FnSpec, stage: str) -> Callables:
    """Construct a stage's operator once; any failure is the stage's, not an item's."""
    try:
        return _build(fn)
    except Exception as exc:
        raise StageBuildError(stage, describe(exc)) from exc


def _build(fn: FnSpec) -> Callables:
    what = fn[0]
    if what == "function":
        return fn[1], None
    if what == "class":
        instance = fn[1](*fn[2], **fn[3])
        return instance, None
    op = fn[1]
    op.build()
    return op, (op.call_batch if op.spec.batch else None)


def fresh(fn: FnSpec) -> FnSpec:
    """A copy that builds its own instance (a hub Operator caches what it built)."""
    if fn[0] != "operator":
        return fn
    op = fn[1]
    return ("operator", type(op)(op.spec, *op.args, **op.kwargs))


class BuiltCache:
    """Built stages of one worker by content key, so a warm actor or a task process
    builds each operator once across blocks, chains and pipeline runs."""

    def __init__(self, limit: int = 32) -> None:
        self.limit = limit
        self.built: dict[str, Callables] = {}
        self.chains: dict[str, tuple[list[CallSpec], list[Callables]]] = {}

    def chain(self, key: str, blob: bytes) -> tuple[list[CallSpec], list[Callables]]:
        """The chain shipped as ``blob`` (``(calls, [(fn key, fn blob), ...])``), built."""
        found = self.chains.get(key)
        if found is None:
            calls, fns = pickle.loads(blob)
            built = [self.get(call, fn_key, fn_blob) for call, (fn_key, fn_blob)
                     in zip(calls, fns)]
            found = self.chains[_bounded(self.chains, self.limit, key)] = (calls, built)
        return found

    def get(self, call: CallSpec, key: str, blob: bytes) -> Callables:
        if key not in self.built:
            fn = pickle.loads(blob)
            self.built[_bounded(self.built, self.limit, key)] = build(fn, call["name"])
        return self.built[key]


def _bounded(cache: dict[str, Any], limit: int, key: str) -> str:
    if len(cache) >= limit:
        cache.pop(next(iter(cache)))
    return key


# --- running a chain ----------------------------------------------------------------


def run_chain(calls: Sequence[CallSpec], fns: Sequence[Callables], block: Block,
              kill_hung: bool = False) -> tuple[Block, Meta]:
    """Apply each stage in turn to the whole block; failures go by each stage's policy."""
    started = time.perf_counter()
    items, origins = block
    failures: list[Failure] = []
    peak = sampled_bytes(items)
    nbytes = peak
    for call, (one, many) in zip(calls, fns):
        items, origins, fatal = _apply(call, one, many, items, origins, failures, kill_hung)
        if fatal is not None:
            return ([], []), _meta([], 0, peak, started, failures, fatal)
        nbytes = sampled_bytes(items)
        peak = max(peak, nbytes)
    return (items, origins), _meta(items, nbytes, peak, started, failures, None)


def _meta(items: list[Any], nbytes: int, peak: int, started: float,
          failures: list[Failure], fatal: Failure | None) -> Meta:
    # Literal dicts, not Meta(...): this module travels by value and a TypedDict class
    # would travel with every block.
    meta: Meta = {"count": len(items), "nbytes": nbytes, "peak_bytes": peak,
                  "seconds": time.perf_counter() - started, "failures": failures,
                  "fatal": fatal}
    return meta


def _apply(call: CallSpec, one: Callable[[Any], Any], many: Callable[[list[Any]], list[Any]] | None,
           items: list[Any], origins: Sequence[int], failures: list[Failure], kill_hung: bool,
           ) -> tuple[list[Any], Sequence[int], Failure | None]:
    results = _call_all(call, one, many, items, kill_hung)
    if call["kind"] == "map" and not call["check_output"] and all(ok for ok, _ in results):
        return [value for _, value in results], origins, None  # the common case, no copies
    out: list[Any] = []
    out_origins: list[int] = []
    for item, origin, (ok, value) in zip(items, origins, results):
        emitted, error = _emit(call, item, value) if ok else ([], str(value))
        if error is not None:
            failure: Failure = {"index": origin, "item": _shippable(item), "error": error,
                                "stage": call["name"], "policy": call["on_error"]}
            if call["on_error"] == "raise":
                return [], [], failure
            if call["on_error"] == "collect":
                failures.append(failure)
            continue
        out.extend(emitted)
        out_origins.extend([origin] * len(emitted))
    return out, out_origins, None


def _emit(call: CallSpec, item: Any, value: Any) -> tuple[list[Any], str | None]:
    """A stage's outputs for one item, or the error that replaces them."""
    kind = call["kind"]
    try:
        emitted = [value] if kind == "map" else ([item] if value else []) if kind == "filter" \
            else list(value)
    except Exception as exc:  # noqa: BLE001 - flat_map of a non-iterable, a bad __bool__
        return [], describe(exc)
    if call["check_output"]:
        for output in emitted:
            if pickled_size(output) is None:
                return [], unpicklable(call["name"], output)
    return emitted, None


def unpicklable(stage: str, value: Any) -> str:
    """Why an output cannot leave its worker, and the fix."""
    try:
        _dumps(value)
        error = "it cannot be pickled"
    except Exception as exc:  # noqa: BLE001 - the pickling error is the message
        error = describe(exc)
    return (f"{stage} returned a {type(value).__name__} that cannot be sent to the next "
            f"stage or the driver ({error}); return plain data (numbers, strings, arrays, "
            "dicts) instead")


def _call_all(call: CallSpec, one: Callable[[Any], Any],
              many: Callable[[list[Any]], list[Any]] | None, items: list[Any],
              kill_hung: bool) -> list[tuple[bool, Any]]:
    """(ok, value or error text) per item, one call per item or per batch."""
    if many is None:
        return [_guarded(call, one, item, kill_hung) for item in items]
    size = call["batch_size"] or len(items) or 1
    results: list[tuple[bool, Any]] = []
    for i in range(0, len(items), size):
        results += _call_batch(call, one, many, items[i:i + size], kill_hung)
    return results


def _call_batch(call: CallSpec, one: Callable[[Any], Any],
                many: Callable[[list[Any]], list[Any]], batch: list[Any],
                kill_hung: bool) -> list[tuple[bool, Any]]:
    """One batch call. One that raises is retried item by item, to fail only the bad
    item; one that timed out fails all its items: retried, a batch of n would wait up to
    (1 + n) timeouts (``timeout=`` bounds each call, a batch is one call)."""
    ok, values = _guarded(call, many, batch, kill_hung)
    if ok:
        return [(True, v) for v in values]
    if isinstance(values, TimedOut):
        return [(False, values)] * len(batch)
    return [_guarded(call, one, item, kill_hung) for item in batch]


class TimedOut(str):
    """The error text of a call stopped by its timeout (a plain ``str`` once sent)."""


def _guarded(call: CallSpec, fn: Callable[[Any], Any], arg: Any,
             kill_hung: bool) -> tuple[bool, Any]:
    try:
        if call["timeout"] is None:
            return True, fn(arg)
        with deadline(call["timeout"], call["name"], kill_hung):
            return True, fn(arg)
    except CallTimeout as exc:
        return False, TimedOut(describe(exc))
    except Exception as exc:  # noqa: BLE001 - the operator's error, kept per item
        return False, describe(exc)


# --- timeouts -----------------------------------------------------------------------


@contextmanager
def deadline(seconds: float, stage: str, kill_hung: bool) -> Iterator[None]:
    """Raise :class:`CallTimeout` in the block if it runs over ``seconds``.

    SIGALRM interrupts Python code and blocking calls (sleep, sockets) in the main
    thread, where Ray runs tasks and actor calls; an alarm already set (pytest-timeout)
    still fires on time. With ``kill_hung`` (a Ray worker) a call that ignores the
    alarm (stuck in C code) has its process killed; Ray then retries or reports it.
    """
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError(f"{stage}: timeout= needs the main thread (use backend='ray')")
    started = time.monotonic()
    previous_handler = signal.getsignal(signal.SIGALRM)
    previous_delay, previous_interval = signal.setitimer(signal.ITIMER_REAL, 0)
    theirs = started + previous_delay if previous_delay else None

    def on_alarm(signum: int, frame: FrameType | None) -> None:
        if theirs is not None and time.monotonic() >= theirs - 0.001:
            signal.signal(signal.SIGALRM, previous_handler)
            if callable(previous_handler):
                previous_handler(signum, frame)
            return
        raise CallTimeout(f"{stage}: the call took longer than timeout={seconds:g} s")

    signal.signal(signal.SIGALRM, on_alarm)
    ours = started + seconds
    signal.setitimer(signal.ITIMER_REAL, max(0.001, min(ours, theirs or ours) - started))
    token = watchdog().arm(ours + max(HUNG_GRACE, seconds)) if kill_hung else None
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        if token is not None:
            watchdog().disarm(token)
        signal.signal(signal.SIGALRM, previous_handler)
        if theirs is not None:
            signal.setitimer(signal.ITIMER_REAL, max(0.001, theirs - time.monotonic()),
                             previous_interval)


class Watchdog:
    """Kills this process when an armed deadline passes: a call that ignored its timeout
    (in C code that never checks for signals) must not keep a Ray worker forever."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: dict[int, float] = {}
        self._next = 0
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def arm(self, at: float) -> int:
        with self._lock:
            self._next += 1
            self._armed[self._next] = at
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, daemon=True,
                                                name="opshub-watchdog")
                self._thread.start()
        self._wake.set()
        return self._next

    def disarm(self, token: int) -> None:
        with self._lock:
            self._armed.pop(token, None)

    def _watch(self) -> None:
        while True:
            with self._lock:
                soonest = min(self._armed.values(), default=None)
            now = time.monotonic()
            if soonest is not None and now >= soonest:
                os.kill(os.getpid(), signal.SIGKILL)
            self._wake.wait(None if soonest is None else soonest - now)
            self._wake.clear()


_WATCHDOG: Watchdog | None = None  # made in the worker that needs it (a lock cannot travel)


def watchdog() -> Watchdog:
    global _WATCHDOG
    if _WATCHDOG is None:
        _WATCHDOG = Watchdog()
    return _WATCHDOG


# --- sizes and pickling -------------------------------------------------------------

_SCALARS = (int, float, bool, complex, type(None))
_BUFFERS = (bytes, bytearray, str)


def pickled_size(value: Any) -> int | None:
    """About how many bytes ``value`` takes in Ray's object store; None if it cannot be
    pickled. Large buffers (numpy arrays) are counted, not copied (pickle protocol 5)."""
    kind = type(value)
    if kind in _SCALARS:
        return 16
    if kind in _BUFFERS:
        return len(value) + 32
    try:
        buffers: list[pickle.PickleBuffer] = []
        head = _dumps(value, buffers.append)
    except Exception:  # noqa: BLE001 - any failure means it cannot travel
        return None
    return len(head) + sum(memoryview(b).nbytes for b in buffers)


def _dumps(value: Any, buffer_callback: Callable[[pickle.PickleBuffer], Any] | None = None
           ) -> bytes:
    dumps = _cloudpickle_dumps()
    return dumps(value, protocol=5, buffer_callback=buffer_callback)


def _cloudpickle_dumps() -> Callable[..., bytes]:
    """Ray's cloudpickle (what Ray serializes with) in a Ray worker, else plain pickle."""
    module: Any = sys.modules.get("ray.cloudpickle")
    if module is None and "ray" in sys.modules:
        import ray.cloudpickle as module
    dumps: Callable[..., bytes] = module.dumps if module is not None else pickle.dumps
    return dumps


def sampled_bytes(items: list[Any]) -> int:
    """The block's size, extrapolated from up to ``SAMPLE`` evenly spaced items."""
    if not items:
        return 0
    step = max(1, len(items) // SAMPLE)
    sample = items[::step][:SAMPLE]
    sizes = [pickled_size(x) or sys.getsizeof(x) for x in sample]
    return int(sum(sizes) * len(items) / len(sample))


def _shippable(item: Any) -> Any:
    """The failed item, or its repr when it could not travel back to the driver."""
    return item if pickled_size(item) is not None else f"<unpicklable {item!r:.200}>"


def describe(exc: BaseException) -> str:
    """``ZeroDivisionError: division by zero (impl.py:12)``: an error in one line."""
    text = f"{type(exc).__name__}: {exc}"
    frames = list(traceback.extract_tb(exc.__traceback__))
    if isinstance(exc, CallTimeout) and len(frames) > 1:
        frames = frames[:-1]  # where the call was stuck, not the alarm handler
    if frames:
        last = frames[-1]
        text += f" ({last.filename.rsplit('/', 1)[-1]}:{last.lineno})"
    return text


# --- the Ray entry points (shipped by value with this module) ------------------------

_TASK_CACHE = BuiltCache(limit=16)  # in a Ray task worker process: kept across tasks


def run_task(chain_key: str, chain_blob: bytes, block: Block,
             restart: int | None) -> tuple[Block, Meta]:
    """A Ray task's body: the chain from this process's cache (built once), run."""
    calls, fns = _TASK_CACHE.chain(chain_key, chain_blob)
    return run_chain(calls, fns, _restarted(block, restart), kill_hung=True)


def _restarted(block: Block, restart: int | None) -> Block:
    """A kept block read by a new run: its items' positions count from ``restart``."""
    if restart is None:
        return block
    return block[0], range(restart, restart + len(block[0]))


class StageActor:
    """A Ray actor of a class stage: builds its chain in ``setup`` and keeps it, so a
    warm pool serves later runs (and other chains ending in the same class) unbuilt."""

    def __init__(self) -> None:
        self.cache = BuiltCache()

    def setup(self, chain_key: str, chain_blob: bytes) -> int:
        self.cache.chain(chain_key, chain_blob)
        return os.getpid()

    def run(self, chain_key: str, chain_blob: bytes, block: Block,
            restart: int | None) -> tuple[Block, Meta]:
        calls, fns = self.cache.chain(chain_key, chain_blob)
        return run_chain(calls, fns, _restarted(block, restart), kill_hung=True)
