"""Section 4: `hub install image-embed` against `pip install --index-url <hub>/simple/`.

A local `hub serve` (free port, temp storage) gets image-embed published to it. Each
install goes into a fresh throwaway venv whose ``.pth`` file links this environment's
site-packages, so the third-party requirements (torch, ...) are already satisfied and
only the operator's wheel is installed. Both use pip with no cache and the hub as their
only index (nothing comes from PyPI): `hub install --installer pip` because uv does not
see ``.pth``-linked packages and would reinstall torch into the throwaway env.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import sysconfig
import tempfile
from collections.abc import Callable
from pathlib import Path

from _common import OPERATORS, ROOT, Section, row, run, target, timed, uv

sys.path.insert(0, str(ROOT / "tests"))
from conftest import HubServer, start_hub_server  # noqa: E402 - the tests' own server helper

PIP = "pip install --index-url <hub>/simple/ image-embed"
HUB = "hub install --installer pip image-embed"


def run_section(quick: bool) -> Section:
    repeat = 1 if quick else 3
    work = Path(tempfile.mkdtemp(prefix="ohn-", dir="/tmp"))
    server = start_hub_server(work / "storage")
    try:
        env = _client_env(server)
        run([sys.executable, "-m", "hub", "publish", str(OPERATORS / "image-embed")], env=env)
        seconds = _alternate({PIP: lambda v: _pip(v, server, env), HUB: lambda v: _hub(v, env)},
                             work, repeat)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    rows = [row(name, s, "s", seconds[PIP], f"median of {repeat}") for name, s in seconds.items()]
    ratio = seconds[HUB] / seconds[PIP]
    return Section(title="Install image-embed from a local hub into a fresh venv", baseline=PIP,
                   rows=rows, targets=[target("hub install within 1.2x of pip install",
                                              f"{ratio:.2f}x", ratio <= 1.2)],
                   notes=[__doc__.split("\n\n")[1].replace("\n", " ")])


def run(quick: bool, network: bool) -> Section:  # noqa: F811 - the section entry point
    return run_section(quick)
