"""Section 4: `hub install image-embed` against `pip install --index-url <hub>/simple/`.

A local `hub serve` (free port, temp storage) gets image-embed published to it. Each
install goes into a fresh throwaway venv whose .pth file links this environment's
site-packages, so the third-party requirements (torch, ...) are already satisfied and
only the operator's wheel is installed. Both use pip, with no cache and the hub as their
only index (nothing comes from PyPI): `hub install --installer pip`, because uv does not
see .pth-linked packages and would reinstall torch into the throwaway venv.

pip has no index priority, so `hub install --installer pip` cannot be one pip run without
letting another index shadow a hub name (#11): it resolves in a dry run whose report says
where each file comes from, then installs exactly those files hash-pinned. The third row
does those two pip steps by hand, the least any safe pip install costs.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import sysconfig
import tempfile
from collections.abc import Callable
from pathlib import Path

import _goals as goals
from _common import OPERATORS, ROOT, Section, median_seconds, row, target, timed, uv
from _common import run as run_cmd

sys.path.insert(0, str(ROOT / "tests"))
from support.hub_server import HubServer, start_hub_server

PIP = "pip install --index-url <hub>/simple/ image-embed"
HUB = "hub install --installer pip image-embed"
TWO_STEP = "by hand: pip install --dry-run --report, then --no-deps --require-hashes"
Install = Callable[[Path], object]


def run(quick: bool, network: bool) -> Section:
    repeat = 1 if quick else 3
    work = Path(tempfile.mkdtemp(prefix="ohn-", dir="/tmp"))
    server = start_hub_server(work / "storage")
    try:
        env = _env(server)
        run_cmd([sys.executable, "-m", "hub", "publish", str(OPERATORS / "image-embed")], env)
        installs: dict[str, Install] = {PIP: lambda venv: _pip(venv, server, env),
                                        HUB: lambda venv: _hub(venv, env),
                                        TWO_STEP: lambda venv: _two_step(venv, server, env)}
        seconds = _alternate(installs, work, repeat)
        seconds |= _hub_parts(work, env, repeat)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    rows = [row(name, s, "s", seconds[PIP], f"median of {repeat}") for name, s in seconds.items()]
    ratio = seconds[HUB] / seconds[PIP]
    return Section(title="Install image-embed from a local hub into a fresh venv", baseline=PIP,
                   rows=rows, targets=[target(goals.HUB_INSTALL, f"{ratio:.2f}x", ratio <= 1.2)],
                   notes=[" ".join(part.split()) for part in __doc__.split("\n\n")[1:3]]
                   + [f"hub install is {seconds[HUB] / seconds[TWO_STEP]:.2f}x the two pip "
                      "steps by hand."])


def _env(server: HubServer) -> dict[str, str]:
    """The hub as client target and as pip's only index; no pip cache, config or nagging."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "HUB_"))}
    return {**env, "HUB_URL": server.url, "HUB_TOKEN": server.token,
            "PIP_INDEX_URL": server.index_url, "PIP_NO_CACHE_DIR": "1",
            "PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def _alternate(installs: dict[str, Install], work: Path, repeat: int) -> dict[str, float]:
    """Each install ``repeat`` times, alternating, each into its own fresh venv; medians."""
    times: dict[str, list[float]] = {name: [] for name in installs}
    for i in range(repeat):
        for name, install in installs.items():
            venv = _fresh_venv(work / f"venv-{len(times[name])}-{i}-{hash(name) & 0xffff}")
            times[name].append(timed(lambda install=install, venv=venv: install(venv)))
    return {name: statistics.median(t) for name, t in times.items()}


def _hub_parts(work: Path, env: dict[str, str], repeat: int) -> dict[str, float]:
    """Where `hub install`'s extra time goes: its own start-up, and the operator listing
    it runs in the target env before and after installing (to report what changed)."""
    venv = _fresh_venv(work / "venv-parts")
    hub = str(Path(sys.executable).with_name("hub"))
    return {"of which: hub CLI start-up (`hub --help`)": median_seconds([hub, "--help"], repeat,
                                                                        env),
            "of which, twice: `python -m hub list --json` in the target env":
                median_seconds([str(venv), "-m", "hub", "list", "--json"], repeat, env)}


def _fresh_venv(path: Path) -> Path:
    """A venv with pip whose .pth links this environment's site-packages."""
    run_cmd([uv(), "venv", "-q", "--seed", "--python", sys.executable, str(path)])
    python = path / "bin" / "python"
    site = run_cmd([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"])
    Path(site.stdout.strip(), "_opshub_main.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return python


def _pip(python: Path, server: HubServer, env: dict[str, str]) -> None:
    run_cmd([str(python), "-m", "pip", "install", "-q", "--index-url", server.index_url,
             "image-embed"], env)


def _two_step(python: Path, server: HubServer, env: dict[str, str]) -> None:
    """pip's dry-run report, then exactly its files, hash-pinned (what `hub install` does)."""
    report, lock = python.parents[1] / "report.json", python.parents[1] / "lock.txt"
    pip = [str(python), "-m", "pip", "install", "-q", "--index-url", server.index_url]
    run_cmd([*pip, "--dry-run", "--report", str(report), "image-embed"], env)
    files = json.loads(report.read_text())["install"]
    lock.write_text("".join(
        f"{f['metadata']['name']}=={f['metadata']['version']} "
        f"--hash=sha256:{f['download_info']['archive_info']['hashes']['sha256']}\n"
        for f in files))
    run_cmd([*pip, "--no-deps", "--require-hashes", "-r", str(lock)], env)


def _hub(python: Path, env: dict[str, str]) -> None:
    run_cmd([str(Path(sys.executable).with_name("hub")), "install", "--installer", "pip",
             "--python", str(python), "image-embed"], env)
