"""Storage: the row is the commit point; files are immutable (recovery: test_recovery.py)."""

from __future__ import annotations

import shutil
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from hub._dist import inspect_wheel
from hub.server import FileExistsConflict, Storage, check_token, create_token, write_local_token


def _staged(store: Storage, wheel: Path) -> tuple[object, Path]:
    info = inspect_wheel(wheel)
    temp = store.temp_path()
    shutil.copy(wheel, temp)
    return info, temp


def test_add_then_identical_then_conflicting(tmp_path: Path, make_wheel: Callable[..., Path]):
    store = Storage(tmp_path / "st")
    wheel = make_wheel()
    original = wheel.read_bytes()
    assert store.add(*_staged(store, wheel)) is True
    assert store.add(*_staged(store, wheel)) is False  # identical: a no-op
    make_wheel(Summary="different bytes, same filename")  # overwrites `wheel`
    with pytest.raises(FileExistsConflict, match="File already exists"):
        store.add(*_staged(store, wheel))
    [record] = store.files("opshub-demo")
    assert store.path_of("opshub-demo", record.filename).read_bytes() == original
    assert list((tmp_path / "st/files/opshub-demo").iterdir()) == [
        store.path_of("opshub-demo", record.filename)]  # no temp files left


def test_yank_marks_every_file_of_a_version(tmp_path, make_wheel):
    store = Storage(tmp_path / "st")
    store.add(*_staged(store, make_wheel()))
    assert store.set_yanked("opshub-demo", "1.0", True, "broken") == 1
    assert store.files()[0].yanked_reason == "broken"
    assert store.set_yanked("opshub-demo", "9.9", True, "x") == 0
    store.set_yanked("opshub-demo", "1.0", False)
    assert (store.files()[0].yanked, store.files()[0].yanked_reason) == (False, None)


@pytest.mark.parametrize("filename", ["../x.whl", "a/../../x.whl", ".tmp-1", ".."])
def test_path_of_refuses_names_outside_the_project(tmp_path, filename):
    with pytest.raises(ValueError):
        Storage(tmp_path).path_of("demo", filename)


def test_tokens_are_stored_hashed_and_checked(tmp_path):
    store = Storage(tmp_path / "st")
    token = create_token(store)
    assert token.startswith("ohub_") and len(token) > 40
    assert check_token(store, token) and not check_token(store, token + "x")
    assert token.encode() not in (tmp_path / "st/hub.sqlite3").read_bytes()
    path = write_local_token(store, token)
    assert path.read_text().strip() == token
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
