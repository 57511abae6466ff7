"""The machine a run happened on, and the run as Markdown (results.md) and JSON (results.json)."""

from __future__ import annotations

import datetime
import json
import os
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from _common import Row, Section, Target


def machine() -> dict[str, Any]:
    """CPU, cores, versions, date and load: what a reader needs to compare two runs."""
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "ray": _version("ray"),
        "torch": _version("torch"),
        "os": platform.platform(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def _cpu_model() -> str:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return platform.processor() or "unknown"
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    return names[0] if names else platform.processor() or "unknown"


def _version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def write(results: dict[str, Any], out: Path) -> None:
    """``out``/results.json and ``out``/results.md."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    (out / "results.md").write_text(markdown(results))


def markdown(results: dict[str, Any]) -> str:
    """The whole run: machine, one table per section, then every target met or missed."""
    m = results["machine"]
    parts = ["# opshub benchmarks", "",
             f"`{results['command']}` — {m['date']}, {results['seconds']:.0f} s in all.", "",
             f"Machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, Ray {m['ray']}, "
             f"torch {m['torch']}, {m['os']}; load average at start "
             f"{' / '.join(map(str, m['load_average']))}.", "",
             "Every ratio is against the section's baseline, measured in the same run."]
    for section in results["sections"].values():
        parts += ["", *_section(section)]
    parts += ["", "## Targets", "", "| target | figure | met |", "|---|---|---|"]
    parts += [_target_line(t) for t in all_targets(results)]
    return "\n".join(parts) + "\n"


def _section(section: Section) -> list[str]:
    lines = [f"## {section['title']}", ""]
    if "error" in section:
        return lines + [f"Not measured: {section['error']}"]
    lines += [f"Baseline: {section['baseline']}.", "",
              "| measurement | value | × baseline | note |", "|---|---:|---:|---|"]
    lines += [_row_line(r) for r in section["rows"]]
    return lines + [""] + [f"- {n}" for n in section.get("notes", [])]


def _row_line(r: Row) -> str:
    ratio = "" if r.get("ratio") is None else f"{r['ratio']:.3g}"
    return f"| {r['name']} | {_number(r['value'])} {r['unit']} | {ratio} | {r.get('note', '')} |"


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _target_line(t: Target) -> str:
    met = {True: "met", False: "**missed**", None: "not measured"}[t["met"]]
    return f"| {t['target']} | {t['figure']} | {met} |"


def all_targets(results: dict[str, Any]) -> list[Target]:
    """Every section's targets in order (a failed section's show as not measured)."""
    return [t for s in results["sections"].values() for t in s.get("targets", [])]
