"""opshub against its peers, side by side, in one command (issues 7 and 12).

    .venv/bin/python benchmarks/run.py [--quick] [--sections overhead,startup] [--no-network]

Writes benchmarks/results.md (tables, the machine, every target met or missed) and
benchmarks/results.json. Each section runs in its own Python process (a crash or a
Ray left behind cannot spoil the next one) and every figure is a ratio against a
baseline measured in the same section, because these machines are shared and noisy.
``--quick`` is a smoke run with small N; ``--no-network`` skips what needs PyPI
(Towhee's venv, resolver runs).
"""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]

import _goals as goals
from _common import BENCH, Section, env_with_path, target
from _report import machine, write

# section name -> (module, title, targets it reports, needs the network)
SECTIONS: dict[str, tuple[str, str, tuple[str, ...], bool]] = {
    "overhead": ("bench_overhead", "Per-item overhead",
                 (goals.IN_PROCESS_OVERHEAD, goals.RAY_VS_RAY_DATA), False),
    "image-embed": ("bench_image_embed", "image-embed throughput",
                    (goals.EMBED_IN_PROCESS, goals.EMBED_ON_RAY), False),
    "data-plane": ("bench_data_plane", "Data plane: decode then embed on Ray",
                   (goals.DATA_PLANE_VS_RAY_DATA, goals.DATA_PLANE_VS_BEFORE,
                    goals.DATA_PLANE_RSS), False),
    "resolution": ("bench_resolution", "Resolution", (goals.CACHED_RESOLUTION,), True),
    "install": ("bench_install", "Install", (goals.HUB_INSTALL,), False),
    "startup": ("bench_startup", "Start-up", (goals.HUB_LIST,), False),
    "node-env": ("bench_node_env", "Env mechanisms on a bare Ray node (pip, uv, py_executable)",
                 (), True),
    "remote-env": ("bench_remote_env", "Remote env on a bare Ray node",
                   (goals.REMOTE_FIRST_USE, goals.REMOTE_SECOND_USE), True),
    "pages": ("bench_pages", "Web pages", (goals.PAGES,), False),
    "airgap": ("bench_airgap", "Air gap: first use from the hub's mirror",
               (goals.AIRGAP_FIRST_USE,), True),
}
SECTION_TIMEOUT = 900
# Sections that cannot fit: airgap runs `hub mirror` (torch and all, ~5 min on a cold cache)
# and then two fresh clusters, each with a first use that installs torch on its bare node
# (bench_airgap.FIRST_USE_TIMEOUT_S, 1200 s each at worst).
SECTION_TIMEOUTS = {"airgap": 3000}


def main() -> None:
    args = _parser().parse_args()
    if args.one:
        _run_one(args.one, args.quick, not args.no_network, Path(args.json_out))
        return
    names = _selected(args.sections)
    started, info = time.perf_counter(), machine()
    sections = {}
    for name in names:
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        sections[name] = _run_isolated(name, args.quick, not args.no_network)
    command = "benchmarks/run.py " + " ".join(sys.argv[1:])
    results = {"command": command.strip(), "quick": args.quick, "machine": info,
               "seconds": time.perf_counter() - started, "sections": sections}
    write(results, Path(args.out))
    print((Path(args.out) / "results.md").read_text())


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a fast smoke run with small N")
    parser.add_argument("--sections", default=",".join(SECTIONS),
                        help=f"comma-separated, of: {', '.join(SECTIONS)}")
    parser.add_argument("--no-network", action="store_true",
                        help="skip what needs PyPI (Towhee, resolver runs)")
    parser.add_argument("--out", default=str(BENCH), help="folder for results.md/.json")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: run one section here
    parser.add_argument("--json-out", help=argparse.SUPPRESS)
    return parser


def _selected(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in SECTIONS]
    if unknown:
        raise SystemExit(f"unknown section(s) {', '.join(unknown)}; "
                         f"choose from {', '.join(SECTIONS)}")
    return names


def _run_isolated(name: str, quick: bool, network: bool) -> Section:
    """The section in a child process; a failure becomes a section with ``error``."""
    _, title, targets, needs_network = SECTIONS[name]
    if needs_network and not network:
        return _failed(title, targets, "needs the network (run without --no-network)")
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        cmd = [sys.executable, __file__, "--one", name, "--json-out", out.name]
        cmd += ["--quick"] * quick + ["--no-network"] * (not network)
        started, timeout = time.perf_counter(), SECTION_TIMEOUTS.get(name, SECTION_TIMEOUT)
        try:
            done = subprocess.run(cmd, capture_output=True, check=False, text=True,
                                  timeout=timeout,
                                  env=env_with_path(BENCH))  # Ray workers import sections
        except subprocess.TimeoutExpired:
            return _failed(title, targets, f"timed out after {timeout} s")
        if done.returncode != 0:
            return _failed(title, targets, _last_line(done.stderr))
        section: Section = json.loads(Path(out.name).read_text())
    section["seconds"] = time.perf_counter() - started
    return section


def _run_one(name: str, quick: bool, network: bool, out: Path) -> None:
    module = importlib.import_module(SECTIONS[name][0])
    entry = getattr(module, "run_section", None) or module.run  # bench_node_env: run_section
    section = entry(quick=quick, network=network)
    out.write_text(json.dumps(section))


def _failed(title: str, targets: tuple[str, ...], reason: str) -> Section:
    return Section(title=title, error=reason,
                   targets=[target(t, reason, None) for t in targets])


def _last_line(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    return lines[-1][:500] if lines else "the section exited with an error"


if __name__ == "__main__":
    main()
