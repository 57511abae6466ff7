"""The examples run end to end with the first-party operators installed."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType

import pytest

import hub

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

pytestmark = pytest.mark.slow


def run_example(script: str, *args: str, cwd: Path) -> str:
    result = subprocess.run([sys.executable, str(EXAMPLES / script), *args], cwd=cwd,
                            capture_output=True, check=False, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    return result.stdout


@pytest.mark.ray
def test_image_search_on_ray_pairs_each_copy_with_its_original(first_party: Path,
                                                               tmp_path: Path,
                                                               monkeypatch) -> None:
    ray_temp = tempfile.mkdtemp(prefix="opshub-ray-")  # short: Ray's socket paths
    monkeypatch.setenv("RAY_TMPDIR", ray_temp)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    try:
        out = run_example("image_search.py", "--top", "1", cwd=tmp_path)
    finally:
        shutil.rmtree(ray_temp, ignore_errors=True)
    nearest = {}
    for line in out.splitlines():
        if "  ->  " in line:
            name, _, rest = line.partition("  ->  ")
            nearest[name.strip()] = rest.split()[0]
    assert nearest["chelsea-half-size.png"] == "chelsea.png"
    assert nearest["coffee-cropped.png"] == "coffee.png"
    assert nearest["rocket-reencoded.jpg"] == "rocket.png"
    duplicates = out.split("near-duplicates")[1]
    assert duplicates.count("~") == 3  # exactly the three copies, no false match


def load_example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_text_search_finds_the_sentence_with_the_same_meaning(text_embed: hub.Operator) -> None:
    """In-process, with the session's model: the script's own functions, not a new process."""
    example = load_example("text_search")
    vectors = example.embed_corpus(example.CORPUS, text_embed, "local")
    queries = text_embed.call_batch(["a kitten asleep indoors", "the markets dropped"])
    [(_, cat)], [(_, market)] = (example.search(example.CORPUS, vectors, q, 1) for q in queries)
    assert (cat, market) == ("The cat is sleeping on the sofa.",
                             "Stock prices fell sharply after the announcement.")


def test_image_search_names_an_empty_folder(first_party: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "image_search.py"), "--images", str(tmp_path),
         "--backend", "local"], capture_output=True, check=False, text=True, timeout=120,
    )
    assert result.returncode == 1
    assert f"no images in {tmp_path}" in result.stderr
