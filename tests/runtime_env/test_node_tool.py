"""The pinned uv a node builds its envs with: the node fetches the one wheel the driver
picked (``_node_builder._uv_tool``: download, sha256 while it streams, unpack the binary),
with no pip. Wheels built here stand in for uv's (a zip holding ``uv-X.data/scripts/uv``,
a shell script); the real wheel, found as the planner finds it, runs at the end."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from support.index import Stall, serve_index
from support.net import free_port, serving
from support.wheels import node_wheels

from runtime_env import NodeTool, Sources, Target
from runtime_env import _node_builder as builder

VERSION = "9.9.9"
FILENAME = f"uv-{VERSION}-py3-none-manylinux_2_17_x86_64.whl"
SCRIPT = "#!/bin/sh\necho fake-uv \"$@\"\n"


def fake_uv_wheel(folder: Path, padding: int = 0) -> Path:
    """A wheel laid out as uv's: the binary under ``uv-X.data/scripts/uv`` (``padding``
    bytes of incompressible data make a download long enough to cut half-way)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / FILENAME
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"uv-{VERSION}.data/scripts/uv", SCRIPT)
        archive.writestr(f"uv-{VERSION}.data/scripts/uvx", "#!/bin/sh\n")
        archive.writestr(f"uv-{VERSION}.dist-info/padding", _random(padding))
    return path


def _random(size: int) -> bytes:
    return b"".join(hashlib.sha256(str(i).encode()).digest() for i in range(size // 32))


def tool_of(wheel: Path, url: str, sha256: str | None = None) -> dict[str, Any]:
    """The tool as a node spec carries it."""
    digest = sha256 or hashlib.sha256(wheel.read_bytes()).hexdigest()
    return NodeTool(wheel.name, url, (digest,)).spec()


def tools(root: Path) -> list[str]:
    """What the tools folder holds (complete or partial)."""
    folder = root / "tools"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def fetch_in_child(root: Path, tool: dict[str, Any], env: dict[str, str] | None = None
                   ) -> subprocess.Popen[str]:
    """``_uv_tool`` in a process of its own (its own proxy variables; killable)."""
    code = ("import importlib.util as u, json, sys, pathlib\n"
            "s = u.spec_from_file_location('b', sys.argv[1]); b = u.module_from_spec(s)\n"
            "s.loader.exec_module(b)\n"
            "print(b._uv_tool(pathlib.Path(sys.argv[2]), json.loads(sys.argv[3])))\n")
    return subprocess.Popen([sys.executable, "-c", code, builder.__file__, str(root),
                             json.dumps(tool)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("how", ["file-url", "path", "http"])
def test_the_right_sha256_unpacks_a_uv_that_runs(tmp_path: Path, how: str) -> None:
    wheel = fake_uv_wheel(tmp_path / "wheels")
    with serve_index(tmp_path / "index") as index:
        index.add(wheel)
        url = {"file-url": wheel.as_uri(), "path": str(wheel),
               "http": f"{index.url}/files/{FILENAME}"}[how]
        uv = builder._uv_tool(tmp_path / "node", tool_of(wheel, url))
    assert uv == str(tmp_path / "node" / "tools" / f"uv-{VERSION}" / "bin" / "uv")
    done = subprocess.run([uv, "--version"], capture_output=True, text=True, check=True)
    assert done.stdout == "fake-uv --version\n"
    assert tools(tmp_path / "node") == [f"uv-{VERSION}"]  # no partial folder, no wheel left
    assert sorted(p.name for p in Path(uv).parents[1].rglob("*")) == ["bin", "uv"]


def test_a_second_build_uses_the_nodes_uv_without_fetching(tmp_path: Path) -> None:
    wheel = fake_uv_wheel(tmp_path / "wheels")
    tool = tool_of(wheel, str(wheel))
    first = builder._uv_tool(tmp_path / "node", tool)
    wheel.unlink()  # nothing to fetch any more
    assert builder._uv_tool(tmp_path / "node", tool) == first


def test_a_wrong_sha256_fails_naming_the_file_and_leaves_no_tool(tmp_path: Path) -> None:
    wheel = fake_uv_wheel(tmp_path / "wheels")
    with pytest.raises(RuntimeError) as raised:
        builder._uv_tool(tmp_path / "node", tool_of(wheel, wheel.as_uri(), "0" * 64))
    actual = hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert str(raised.value) == (
        f"{FILENAME} from {wheel.as_uri()} has sha256 {actual}, not one the pinned uv has: "
        "that source serves other bytes than were pinned; fix or drop it")
    assert tools(tmp_path / "node") == []


def test_an_unreachable_url_fails_in_one_line_and_leaves_no_tool(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/files/{FILENAME}"
    with pytest.raises(RuntimeError) as raised:
        builder._uv_tool(tmp_path / "node", {"filename": FILENAME, "url": url,
                                             "hashes": ["0" * 64]})
    assert str(raised.value).startswith(f"cannot fetch {FILENAME} from {url} (")
    assert str(raised.value).endswith("); the node must reach the sources the driver found "
                                      "it in")
    assert "\n" not in str(raised.value)
    assert tools(tmp_path / "node") == []


def test_a_wheel_without_the_uv_binary_is_refused(tmp_path: Path) -> None:
    wheel = tmp_path / FILENAME
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(f"uv-{VERSION}.dist-info/METADATA", "Name: uv\n")
    with pytest.raises(RuntimeError, match=f"the uv wheel {FILENAME} has no uv-{VERSION}"
                                           r"\.data/scripts/uv"):
        builder._uv_tool(tmp_path / "node", tool_of(wheel, str(wheel)))
    assert tools(tmp_path / "node") == []


def test_a_filename_that_is_not_a_uv_wheel_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"the tool '\.\./x\.whl' is not a uv wheel's"):
        builder._uv_tool(tmp_path / "node", {"filename": "../x.whl", "url": "/x",
                                             "hashes": []})


@pytest.mark.slow
def test_a_fetch_killed_half_way_leaves_no_tool_and_the_next_one_completes(
        tmp_path: Path) -> None:
    wheel = fake_uv_wheel(tmp_path / "wheels", padding=2 << 20)
    root = tmp_path / "node"
    with serve_index(tmp_path / "index") as index:
        index.add(wheel)
        tool = tool_of(wheel, f"{index.url}/files/{FILENAME}")
        index.stall = Stall(FILENAME, after=1 << 20)
        child = fetch_in_child(root, tool)
        assert index.stall.reached.wait(60)
        partial = root / "tools" / f"uv-{VERSION}.partial" / "uv.whl"
        assert partial.exists()  # half a wheel on disk, as a kill finds it
        child.send_signal(signal.SIGKILL)
        child.wait()
        index.stall.release.set()
        assert not (root / "tools" / f"uv-{VERSION}").exists()
        index.stall = None
        uv = builder._uv_tool(root, tool)  # the next build starts over
    assert subprocess.run([uv], capture_output=True, text=True, check=True).stdout == "fake-uv\n"
    assert tools(root) == [f"uv-{VERSION}"]


@pytest.fixture
def forward_proxy(tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    """An HTTP proxy that serves the fake wheel for any URL and records what it was asked."""
    wheel, asked = fake_uv_wheel(tmp_path / "proxied"), []

    class Proxy(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)  # a proxy is asked for the absolute URL
            data = wheel.read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    with serving(Proxy) as url:
        yield url, asked


@pytest.mark.slow
def test_the_download_goes_through_the_nodes_proxy(
        tmp_path: Path, forward_proxy: tuple[str, list[str]]) -> None:
    proxy, asked = forward_proxy
    url = f"http://files.example.invalid/packages/{FILENAME}"
    tool = tool_of(tmp_path / "proxied" / FILENAME, url)
    env = {"PATH": "/usr/bin:/bin", "http_proxy": proxy, "no_proxy": ""}
    out, err = fetch_in_child(tmp_path / "node", tool, env).communicate(timeout=60)
    assert asked == [url], err
    assert out.strip() == str(tmp_path / "node" / "tools" / f"uv-{VERSION}" / "bin" / "uv")


@pytest.mark.slow
@pytest.mark.network  # the pinned uv's real wheel, downloaded from PyPI once per machine
def test_the_pinned_uv_found_as_the_planner_finds_it_is_fetched_and_runs(
        tmp_path: Path) -> None:
    folder = node_wheels()[0].parent  # a find-links folder holding the real wheel
    tool = NodeTool.find(Target.current(), Sources(no_index=True, find_links=(str(folder),)))
    assert tool.url == str(folder / tool.filename) and tool.filename.startswith("uv-0.13.9-")
    uv = builder._uv_tool(tmp_path / "node", tool.spec())
    done = subprocess.run([uv, "--version"], capture_output=True, text=True, check=True)
    assert done.stdout.startswith("uv 0.13.9")
