"""The first-party distributions: real entry points, metadata, and light plugins."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from support.wheelhouse import Wheelhouse

from hub._dist import inspect_wheel
from hub._registry import Registry

OPERATORS = Path(__file__).resolve().parents[2] / "operators"

EXPECTED = {  # name: (kind, batch, num_cpus)
    "image-decode": ("function", False, 0.5),
    "image-embed": ("class", True, 1),
    "text-embed": ("class", True, 1),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_registered_with_their_metadata(first_party: Path, name: str) -> None:
    spec = Registry.discover().get(name)
    assert (spec.kind, spec.batch, spec.resources.num_cpus) == EXPECTED[name]
    assert spec.distribution == name and spec.version == "0.1.0"
    assert spec.description and spec.inputs and spec.outputs


def test_hub_list_shows_them_without_importing_heavy_code(first_party: Path) -> None:
    """Discovery imports only the plugins: no torch, Pillow, numpy or sentence-transformers."""
    code = (
        "import json, sys\n"
        "from hub._registry import Registry\n"
        "names = Registry.discover().names()\n"
        "heavy = sorted(m for m in ('torch', 'PIL', 'numpy', 'sentence_transformers') "
        "if m in sys.modules)\n"
        "print(json.dumps([names, heavy]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    names, heavy = json.loads(out.stdout)
    assert set(EXPECTED) <= set(names)
    assert heavy == []


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_distribution_has_a_readme_card(name: str) -> None:
    card = (OPERATORS / name / "README.md").read_text()
    for section in ("input", "output", "resources", "licence"):
        assert section in card.lower(), f"{name}/README.md lacks {section}"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_hub_accepts_each_wheel(name: str, wheelhouse: Wheelhouse) -> None:
    """The server's own upload checks, and the operators it will show, read statically."""
    info = inspect_wheel(wheelhouse[name])
    assert info.name == name and info.readme.startswith(f"# {name}")
    [operator] = info.operators
    kind, batch, num_cpus = EXPECTED[name]
    assert (operator["name"], operator["kind"], operator["batch"], operator["num_cpus"]) == (
        name, kind, batch, num_cpus
    )
