"""`benchmarks/run.py --quick` writes results.md and results.json with every row and target."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

RUN = Path(__file__).resolve().parents[2] / "benchmarks" / "run.py"
SECTIONS = ("overhead", "startup", "install", "pages")  # the ones that need no network

# network: the install and pages sections `hub publish` project folders (uv fetches hatchling)
pytestmark = [pytest.mark.slow, pytest.mark.ray, pytest.mark.server, pytest.mark.network]


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str]:
    out = tmp_path_factory.mktemp("bench")
    subprocess.run([sys.executable, str(RUN), "--quick", "--no-network",
                    "--sections", ",".join(SECTIONS), "--out", str(out)],
                   check=True, capture_output=True, text=True, timeout=600)
    return json.loads((out / "results.json").read_text()), (out / "results.md").read_text()


def test_every_section_ran_with_rows_and_ratios(results: tuple[dict, str]) -> None:
    data, _ = results
    assert list(data["sections"]) == list(SECTIONS)
    for name, section in data["sections"].items():
        assert "error" not in section, (name, section.get("error"))
        assert section["rows"] and section["targets"], name
        base = [r for r in section["rows"] if r["name"] == section["baseline"]]
        assert base and base[0]["ratio"] == pytest.approx(1.0), name
        assert all(r["value"] > 0 and r["unit"] for r in section["rows"]), name


def test_markdown_has_machine_every_row_and_every_target(results: tuple[dict, str]) -> None:
    data, markdown = results
    machine = data["machine"]
    assert {"cpu", "cores", "python", "ray", "torch", "date", "load_average"} <= set(machine)
    assert machine["cpu"] in markdown and f"Ray {machine['ray']}" in markdown
    for section in data["sections"].values():
        assert f"## {section['title']}" in markdown
        assert all(f"| {r['name']} |" in markdown for r in section["rows"])
    targets = [t for s in data["sections"].values() for t in s["targets"]]
    assert all(f"| {t['target']} | {t['figure']} |" in markdown for t in targets)
    assert len(targets) == 5  # overhead 2, start-up 1, install 1, pages 1


def test_unknown_section_is_refused_with_the_choices() -> None:
    out = subprocess.run([sys.executable, str(RUN), "--sections", "overhed"],
                         capture_output=True, check=False, text=True)
    assert out.returncode != 0
    assert "unknown section(s) overhed; choose from overhead, image-embed" in out.stderr
