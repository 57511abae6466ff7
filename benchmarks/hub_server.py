"""Throughput of a real `hub serve`: uploads, simple-index pages, pip and uv installs.

    .venv/bin/python benchmarks/hub_server.py [--wheels 50]

Starts `hub serve` on fresh storage in a temp dir (removed afterwards), uploads
``--wheels`` small crafted operator wheels one by one and then 20 at once, times
the project page (JSON and HTML) with every version listed, and one `pip install`
and one `uv pip install` of the project (``--no-deps``, no cache, only this index).
Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]  # run from a checkout; reuse the test helpers

from support.app import upload
from support.crafted import wheel_files, write_wheel
from support.net import free_port
from uv import find_uv_bin

from hub.server import Storage, create_token

JSON_V1 = "application/vnd.pypi.simple.v1+json"


def _serve(storage: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "hub", "serve", "--port", str(port),
                                "--storage", str(storage)], stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if requests.get(url + "/api/health", timeout=1).ok:
                return process, url
        except requests.ConnectionError:
            time.sleep(0.1)
    raise RuntimeError("hub serve did not start")


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _install(tool: list[str], url: str, target: Path) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    env |= {"PIP_CONFIG_FILE": os.devnull, "UV_NO_CONFIG": "1"}
    return _timed(lambda: subprocess.run(
        [*tool, "--no-deps", "--index-url", url + "/simple/", "--target", str(target),
         "opshub-bench"], check=True, capture_output=True, env=env))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheels", type=int, default=50)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hub-bench-"))
    token = create_token(Storage(work / "storage"))
    process, url = _serve(work / "storage")
    try:
        rows = _run(url, token, work, args.wheels)
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(work, ignore_errors=True)
    print("| measurement | value |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")


def _run(url: str, token: str, work: Path, count: int) -> list[tuple[str, str]]:
    wheels = [write_wheel(work, wheel_files("opshub-bench", f"1.{i}")) for i in range(count + 20)]
    serial = _timed(lambda: [upload(url, token, w) for w in wheels[:count]])
    with ThreadPoolExecutor(20) as pool:
        parallel = _timed(lambda: list(pool.map(lambda w: upload(url, token, w), wheels[count:])))
    page = url + "/simple/opshub-bench/"
    as_json = [_timed(lambda: requests.get(page, headers={"Accept": JSON_V1})) for _ in range(50)]
    as_html = [_timed(lambda: requests.get(page)) for _ in range(50)]
    pip = [sys.executable, "-m", "pip", "install", "--isolated", "--no-cache-dir", "-q"]
    uv = [find_uv_bin(), "pip", "install", "--no-cache", "--python", sys.executable, "-q"]
    return [
        (f"{count} uploads, one at a time", f"{count / serial:.0f} uploads/s"),
        ("20 uploads at once", f"{parallel:.2f} s"),
        (f"project page, {count + 20} files, JSON (median)",
         f"{statistics.median(as_json) * 1000:.1f} ms"),
        (f"project page, {count + 20} files, HTML (median)",
         f"{statistics.median(as_html) * 1000:.1f} ms"),
        ("pip install (no deps, cold)", f"{_install(pip, url, work / 'pip'):.2f} s"),
        ("uv pip install (no deps, cold)", f"{_install(uv, url, work / 'uv'):.2f} s"),
    ]


if __name__ == "__main__":
    main()
