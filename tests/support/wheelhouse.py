"""The test and first-party operator distributions, built once per pytest run into one folder.

Every fixture that needs one of them, as a wheel (to upload, to read statically) or
installed (a site folder on ``sys.path``), takes it from the session's
:class:`Wheelhouse` (tests/conftest.py), so no project is built twice in a run (#13).
Each is built by its own PEP 517 backend (hatchling, in the ``test`` extra) called
in-process, as ``uv build --no-build-isolation`` would call it: no build env to create,
no index to ask, about 25 ms a project. `hub publish` of a project folder (uv build,
isolated) keeps its own tests in tests/client/test_hub_roundtrip.py.
"""

from __future__ import annotations

import contextlib
import importlib
import subprocess
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import tomllib
from uv import find_uv_bin

TESTS = Path(__file__).resolve().parents[1]
TEST_OPERATORS = TESTS / "operators"
FIRST_PARTY_OPERATORS = TESTS.parent / "operators"


def projects(folder: Path) -> dict[str, Path]:
    """The project folders (with a pyproject.toml) in ``folder``, by folder name."""
    return {p.name: p for p in sorted(folder.iterdir()) if (p / "pyproject.toml").is_file()}


TEST_PROJECTS = projects(TEST_OPERATORS)  # basic, broken, collide, conflict-a, ...
FIRST_PARTY = projects(FIRST_PARTY_OPERATORS)  # image-decode, image-embed, text-embed


def build_project(project: Path, out: Path) -> Path:
    """One wheel of ``project`` into ``out``, by the backend its pyproject names."""
    config = tomllib.loads((project / "pyproject.toml").read_text())
    backend = importlib.import_module(config["build-system"]["build-backend"])
    out.mkdir(parents=True, exist_ok=True)
    with contextlib.chdir(project):  # PEP 517: hooks run in the project's folder
        return out / backend.build_wheel(str(out))


@dataclass(frozen=True)
class Wheelhouse(Mapping[str, Path]):
    """One folder of built wheels, by project folder name (``basic``, ``image-embed``)."""

    folder: Path
    wheels: Mapping[str, Path]

    @classmethod
    def build(cls, folder: Path, sources: Mapping[str, Path] | None = None) -> Wheelhouse:
        found = sources if sources is not None else {**TEST_PROJECTS, **FIRST_PARTY}
        return cls(folder, {name: build_project(path, folder) for name, path in found.items()})

    def __getitem__(self, name: str) -> Path:
        return self.wheels[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.wheels)

    def __len__(self) -> int:
        return len(self.wheels)

    def install(self, names: Iterable[str], target: Path) -> Path:
        """Install the named wheels (no dependencies) into the folder ``target``."""
        subprocess.run([find_uv_bin(), "pip", "install", "--quiet", "--no-deps", "--offline",
                        "--target", str(target), *(str(self[n]) for n in names)], check=True)
        return target
