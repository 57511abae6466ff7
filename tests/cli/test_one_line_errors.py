"""Every error #11 names ends in one line on stderr and exit 1, never a traceback.

Before: a hub answering JSON of the wrong shape (27 to 41 lines), a non-UTF-8 config
file (40), an unwritable --storage (31), a corrupt database (37) and a 200,000-deep
expression in a plugin (`hub publish`: 48 lines, MemoryError) all gave tracebacks.
"""

from __future__ import annotations

import http.server
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.crafted import wheel_files, write_wheel
from support.net import free_port

from hub.cli import main

SHAPES = {"/api/search": {"results": 5}, "/api/projects/": {"name": "x", "versions": "no"}}


@pytest.fixture
def wrong_shape_hub() -> Iterator[str]:
    """A server answering JSON objects of the wrong shape at the hub's API paths."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            data = next((v for k, v in SHAPES.items() if self.path.startswith(k)), {})
            body = json.dumps(data).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _one_line(*args: str) -> str:
    """Run `hub ARGS` in-process; assert exit 1 with exactly one line on stderr; return it."""
    result = CliRunner().invoke(main, list(args))
    assert isinstance(result.exception, SystemExit), result.exception  # not a traceback
    assert result.exit_code == 1 and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("error: ")
    return result.stderr


@pytest.mark.parametrize("args", [["search", "x"], ["info", "x"], ["install", "x"]])
def test_json_of_the_wrong_shape(wrong_shape_hub: str, monkeypatch: pytest.MonkeyPatch,
                                 args: list[str]) -> None:
    monkeypatch.setenv("HUB_URL", wrong_shape_hub)
    assert "answered JSON of an unexpected shape" in _one_line(*args)


def test_a_config_file_that_is_not_utf8(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config.toml"
    config.write_bytes(b"[hub]\nurl = '\xff'\n")
    monkeypatch.setenv("HUB_CONFIG", str(config))
    line = _one_line("search", "x")
    assert str(config) in line and "not UTF-8" in line and "save it as UTF-8" in line


def test_an_unwritable_storage(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")  # works as root too: no folder can go under a file
    storage = str(tmp_path / "a-file" / "storage")
    for args in (["serve", "--port", str(free_port()), "--storage", storage],
                 ["token", "create", "--storage", storage]):
        line = _one_line(*args)
        assert f"cannot use {storage} as the hub's storage" in line and "--storage" in line


def test_a_corrupt_database(tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    storage.mkdir()
    (storage / "hub.sqlite3").write_bytes(b"garbage" * 1000)
    line = _one_line("token", "create", "--storage", str(storage))
    assert "database" in line and "is damaged" in line and "hub admin recover" in line
    check = CliRunner().invoke(main, ["admin", "check", "--storage", str(storage)])
    assert check.exit_code == 1 and "is damaged" in check.stdout


def test_a_deep_expression_in_hub_publish(tmp_path: Path) -> None:
    """As a real process: the 47-line MemoryError traceback was here."""
    files = wheel_files("deep-op", "1.0")
    files["deep_op/plugin.py"] = b"x = " + b"-" * 200_000 + b"1\n"
    wheel = write_wheel(tmp_path, files)
    out = subprocess.run([sys.executable, "-m", "hub", "publish", str(wheel)],
                         capture_output=True, text=True, check=False)
    assert out.returncode == 1 and out.stderr.count("\n") == 1, out.stderr
    assert "nests deeper than the hub's limit of 100 levels" in out.stderr


# --- the #11 audit ---------------------------------------------------------------------


def test_admin_check_of_a_mistyped_storage_is_one_line_and_creates_nothing(
    tmp_path: Path
) -> None:
    """Before: `hub admin check --storage /typo` created the folder, a database and
    reported "checked 0 file(s): all match"."""
    typo = tmp_path / "typo"
    line = _one_line("admin", "check", "--storage", str(typo))
    assert f"no hub storage at {typo}: no such folder" in line and not typo.exists()
    (typo / "something").mkdir(parents=True)
    line = _one_line("admin", "check", "--storage", str(typo))
    assert "is not a hub's storage (it has neither hub.sqlite3 nor files/)" in line
    assert [p.name for p in typo.iterdir()] == ["something"]


@pytest.mark.parametrize("line, expected", [
    ("data_dir = 5", "data_dir = 5 must be a string (a folder path)"),
    ("cache-dir = [1]", "cache-dir = [1] must be a string (a folder path)"),
    ("url = true", "url = True must be a string"),
    ("extra-index-urls = 3", "extra-index-urls = 3 must be a list of strings"),
    ("find-links = ['a', 2]", "find-links = ['a', 2] must be a list of strings"),
    ("offline = 1", "offline = 1 must be true or false"),
    ("lock-exclude-newer = 7", "lock-exclude-newer = 7 must be a string"),
])
def test_a_config_key_of_the_wrong_type(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        line: str, expected: str) -> None:
    """Before: `data_dir = 5` gave a TypeError traceback."""
    config = tmp_path / "config.toml"
    config.write_text(f"[hub]\n{line}\n")
    monkeypatch.setenv("HUB_CONFIG", str(config))
    assert f"config file {config}: {expected}" in _one_line("token", "list")
