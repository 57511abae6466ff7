"""The DataCollection API on the in-process and thread backends (no Ray)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from hub import InvalidOperator
from hub.pipeline import DataCollection, PipelineError, _driver, per_worker


def test_an_eager_chain_runs_when_read_and_keeps_its_result() -> None:
    calls: list[int] = []
    dc = DataCollection.range(10).map(lambda x: calls.append(x) or x * 2).filter(
        lambda x: x % 3 == 0)
    assert not dc.is_stream and calls == []  # a plan until read
    assert len(dc) == 4 and len(calls) == 10
    assert dc.to_list() == [0, 6, 12, 18] and list(dc) == [0, 6, 12, 18]
    assert len(calls) == 10  # read three times, run once
    assert dc.flat_map(lambda x: [x, -x]).to_list() == [0, 0, 6, -6, 12, -12, 18, -18]
    assert len(calls) == 10  # a later stage starts from the kept result


def test_stream_is_lazy_and_reads_its_input_once() -> None:
    seen: list[int] = []
    dc = DataCollection(iter(range(5))).map(lambda x: seen.append(x) or x + 1)
    assert dc.is_stream and seen == []
    assert list(dc) == [1, 2, 3, 4, 5]
    assert seen == [0, 1, 2, 3, 4]
    assert list(dc) == []


def test_stream_and_unstream_convert() -> None:
    dc = DataCollection([3, 1, 2]).stream()
    assert dc.is_stream
    eager = dc.map(str).unstream()
    assert not eager.is_stream and eager.to_list() == ["3", "1", "2"]
    assert repr(eager) == "DataCollection(['3', '1', '2'])"


def test_batch_and_unbatch() -> None:
    assert DataCollection.range(7).batch(3).to_list() == [[0, 1, 2], [3, 4, 5], [6]]
    assert DataCollection.range(7).batch(3, drop_tail=True).to_list() == [[0, 1, 2], [3, 4, 5]]
    assert DataCollection.range(7).stream().batch(2).unbatch().to_list() == list(range(7))
    with pytest.raises(InvalidOperator, match="batch size 0 must be a whole number >= 1"):
        DataCollection.range(3).batch(0)


@pytest.mark.parametrize("stream", [False, True])
def test_mmap_fans_out_one_collection_per_function(stream: bool) -> None:
    dc = DataCollection.range(4)
    left, right = (dc.stream() if stream else dc).mmap([str, lambda x: -x])
    assert left.to_list() == ["0", "1", "2", "3"]
    assert right.to_list() == [0, -1, -2, -3]


def test_glob_lists_matching_files_sorted(tmp_path: Path) -> None:
    for name in ("b.txt", "a.txt", "sub/c.txt", "d.bin"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(name)
    paths = DataCollection.glob(str(tmp_path / "**" / "*.txt")).map(lambda p: Path(p).name)
    assert paths.to_list() == ["a.txt", "b.txt", "c.txt"]


def test_pmap_and_set_parallel_use_threads() -> None:
    names: set[str] = set()

    def where(x: int) -> int:
        names.add(threading.current_thread().name)
        return x

    assert DataCollection.range(500).pmap(where, num_worker=3, chunk_size=10).to_list() \
        == list(range(500))
    assert names and all(n.startswith("opshub") for n in names)
    dc = DataCollection.range(5).set_parallel(2)
    assert dc.map(lambda x: threading.current_thread().name).to_list()[0].startswith("opshub")


class Counter:
    """Stateful: counts its own calls."""

    def __init__(self, step: int) -> None:
        self.step, self.calls = step, 0

    def __call__(self, x: int) -> tuple[int, int]:
        self.calls += self.step
        return x, id(self)


def test_per_worker_builds_the_class_once_per_thread() -> None:
    out = DataCollection.range(400).map(
        per_worker(Counter, 1), backend="thread", num_worker=2, chunk_size=8
    ).to_list()
    assert [x for x, _ in out] == list(range(400))
    assert 1 <= len({ident for _, ident in out}) <= 2


def test_plain_classes_are_called_per_item() -> None:
    assert DataCollection([1, 2]).map(str).map(Path).to_list() == [Path("1"), Path("2")]


def test_hub_operators_are_used_like_functions(test_ops: Path) -> None:
    from hub import ops

    dc = DataCollection.range(5).map(ops.add_one()).map(ops.running_sum(start=10))
    assert dc.to_list() == [11, 12, 13, 14, 15]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"backend": "spark"}, "backend='spark' must be one of 'local', 'thread', 'ray'"),
        ({"on_error": "ignore"}, "on_error='ignore' must be one of"),
        ({"num_worker": 0}, "num_worker=0 must be a whole number >= 1"),
        ({"workers": 2}, "unknown stage option(s) workers; known: backend"),
        ({"runtime_env": "env.yaml"}, "runtime_env='env.yaml' must be a dict"),
        ({"resources": {"gpu": -1}}, "resources={'gpu': -1} must map Ray resource names"),
    ],
)
def test_bad_stage_options_say_what_to_fix(options: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidOperator) as info:
        DataCollection.range(3).map(str, **options)
    assert message in str(info.value)


def test_a_non_callable_is_refused() -> None:
    with pytest.raises(InvalidOperator, match="map\\(\\) takes a function, a hub Operator"):
        DataCollection.range(3).map(42)  # type: ignore[arg-type]


def test_the_pipeline_does_not_import_ray() -> None:
    code = ("import sys; from hub.pipeline import DataCollection; "
            "DataCollection.range(3).map(str, backend='thread').to_list(); "
            "print('ray' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_progress_bar_on_request(capsys: pytest.CaptureFixture[str],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_driver, "PROGRESS_DELAY", 0)  # no waiting out the bar's delay
    shown = DataCollection.range(60).map(lambda x: x, chunk_size=5, backend="thread",
                                         num_worker=1, progress=True)
    assert shown.to_list() == list(range(60))
    assert "map(" in capsys.readouterr().err
    DataCollection.range(60).map(lambda x: x, chunk_size=5, backend="thread",
                                 num_worker=1).to_list()
    assert capsys.readouterr().err == ""  # stderr is not a terminal here


def fragile(x: int) -> float:
    return 1 / (x % 4)


def test_each_collection_has_its_own_errors() -> None:
    base = DataCollection.range(8).map(fragile, on_error="collect")
    derived = base.map(lambda x: x * 2, on_error="collect")
    assert len(derived) == 6 and [e.index for e in derived.errors] == [0, 4]
    assert base.errors == []  # base was not read: its errors are its own
    assert len(base) == 6 and [e.index for e in base.errors] == [0, 4]
    later = base.map(str, on_error="collect")
    assert later.errors == base.errors and later.errors is not base.errors
    assert DataCollection.range(3).errors == []


def no_thirds(x: float) -> float:
    if x == 1 / 3:
        raise ValueError("a third")
    return x


def test_a_failed_read_read_again_does_not_repeat_its_errors() -> None:
    dc = DataCollection.range(8).map(fragile, on_error="collect").map(no_thirds)
    seen = []
    for _ in range(2):
        with pytest.raises(PipelineError, match=r"map\(no_thirds\) failed on item 3"):
            dc.to_list()
        seen.append([e.index for e in dc.errors])
    assert seen[0] == seen[1] and seen[0][:1] == [0]  # as far as the read came, once


def test_a_collection_read_from_another_one_s_result_keeps_its_errors() -> None:
    base = DataCollection.range(8).map(fragile, on_error="collect")
    base.to_list()
    for derived in (base.stream(), base.unstream(), base.map(str), DataCollection(base)):
        assert [e.index for e in derived.errors] == [0, 4]
        assert derived.errors is not base.errors
        assert list(derived)[:1] in ([1.0], ["1.0"])
        assert [e.index for e in derived.errors] == [0, 4]  # read: kept, not doubled
    base.errors.clear()
    assert DataCollection(base).errors == []


def test_a_collection_made_from_another_keeps_its_result_and_defaults() -> None:
    calls: list[int] = []
    read = DataCollection.range(4).map(lambda x: calls.append(x) or x)
    read.to_list()
    copy = DataCollection(read)
    assert copy.to_list() == [0, 1, 2, 3] and calls == [0, 1, 2, 3]  # not run again
    threaded = DataCollection(DataCollection.range(3).set_parallel(2))
    where = threaded.map(lambda x: threading.current_thread().name).to_list()
    assert all(name.startswith("opshub") for name in where)


def test_per_worker_refuses_what_is_not_a_class_with_call() -> None:
    for thing in (lambda x: x, Counter(1), int.__add__):
        with pytest.raises(InvalidOperator, match=r"per_worker\(\) takes a class with "
                                                  r"__call__, got "):
            per_worker(thing)  # type: ignore[arg-type]  # the bad input under test

    class NoCall:
        pass

    with pytest.raises(InvalidOperator, match="per_worker"):
        per_worker(NoCall)


class Broken:
    def __init__(self) -> None:
        raise OSError("weights.bin is missing")

    def __call__(self, x: int) -> int:  # pragma: no cover - never built
        return x


@pytest.mark.parametrize("backend", ["local", "thread"])
def test_a_stage_that_cannot_be_built_fails_once_before_any_item(backend: str) -> None:
    from hub import Operator, OperatorSpec

    ghost = Operator(OperatorSpec("ghost", "opshub_no_such_module:run"))
    for fn, name, cause in [(per_worker(Broken), "map(Broken)", "weights.bin is missing"),
                            (ghost, "map(ghost)", "could not load opshub_no_such_module:run")]:
        seen: list[int] = []
        dc = DataCollection.range(50).map(seen.append, backend=backend) \
            .map(fn, backend=backend, on_error="skip")
        with pytest.raises(PipelineError) as info:
            dc.to_list()
        assert str(info.value).startswith(f"{name}: the operator could not be built: ")
        assert cause in str(info.value) and seen == []


def test_a_local_timeout_off_the_main_thread_fails_the_stage_not_the_items() -> None:
    errors: list[BaseException] = []

    def read() -> None:
        try:
            DataCollection.range(3).map(str, timeout=1, on_error="skip").to_list()
        except PipelineError as exc:
            errors.append(exc)

    thread = threading.Thread(target=read)
    thread.start()
    thread.join()
    (error,) = errors
    assert str(error).startswith("map(str): timeout= on backend='local' interrupts the call")
    assert DataCollection([0.0, 5.0]).map(time.sleep, timeout=0.2, on_error="collect").errors \
        == []  # not read yet
    slept = DataCollection([0.0, 5.0]).map(time.sleep, timeout=0.2, on_error="collect")
    assert slept.to_list() == [None] and slept.errors[0].index == 1
