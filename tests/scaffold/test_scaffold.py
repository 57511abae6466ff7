"""`hub new`: the files it writes, its name rules and its errors (fast, no build)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from hub._exceptions import HubError, ScaffoldError
from hub._scaffold import NewProject, scaffold
from hub.cli import main

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@pytest.mark.parametrize("kind", ["function", "class"])
def test_writes_a_complete_project(tmp_path: Path, kind: str) -> None:
    root = scaffold("word-count", kind=kind, directory=tmp_path)
    assert root == tmp_path / "word-count"
    written = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert written == [
        "README.md", "pyproject.toml", "tests/test_word_count.py", "word_count/__init__.py",
        "word_count/impl.py", "word_count/plugin.py",
    ]
    for path in root.rglob("*.py"):
        ast.parse(path.read_text(), filename=str(path))  # every module is valid Python


def test_pyproject_declares_the_entry_point(tmp_path: Path) -> None:
    root = scaffold("word-count", directory=tmp_path)
    project = tomllib.loads((root / "pyproject.toml").read_text())
    assert project["project"]["name"] == "word-count"
    assert project["project"]["readme"] == "README.md"
    assert project["project"]["entry-points"]["opshub.operators"] == {
        "word-count": "word_count.plugin"
    }


@pytest.mark.parametrize(("kind", "target", "extra"), [
    ("function", "word_count.impl:word_count", ""),
    ("class", "word_count.impl:WordCount", 'kind="class",'),
])
def test_plugin_registers_the_right_target(kind: str, target: str, extra: str) -> None:
    plugin = NewProject.create("word-count", kind).files()["word_count/plugin.py"]
    assert f'"{target}"' in plugin
    assert extra in plugin
    nodes = ast.walk(ast.parse(plugin))
    imports = [n for n in nodes if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert [alias.name for node in imports for alias in node.names] == ["hub"]  # light


@pytest.mark.parametrize(("given", "name", "package"), [
    ("Word_Count", "word-count", "word_count"),
    ("blur.v2", "blur-v2", "blur_v2"),
    ("embed", "embed", "embed"),
])
def test_names_are_normalized(given: str, name: str, package: str) -> None:
    project = NewProject.create(given)
    assert (project.name, project.package) == (name, package)


@pytest.mark.parametrize("bad", ["2d-blur", "my op", "", "-x", "a/b", "ünïcode"])
def test_a_bad_name_says_the_rule(bad: str) -> None:
    with pytest.raises(ScaffoldError, match=r"must be lower-case words .* e\.g\. 'word-count'"):
        NewProject.create(bad)


def test_an_existing_folder_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "word-count").mkdir()
    (tmp_path / "word-count" / "mine.txt").write_text("keep me")
    with pytest.raises(ScaffoldError, match=r"already exists and is not empty; remove it or "):
        scaffold("word-count", directory=tmp_path)
    assert [p.name for p in (tmp_path / "word-count").iterdir()] == ["mine.txt"]


def test_scaffold_error_is_a_hub_error_and_a_value_error() -> None:
    assert issubclass(ScaffoldError, HubError) and issubclass(ScaffoldError, ValueError)


def test_cli_creates_the_project_and_says_what_next(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["new", "word-count", "--class", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert f"created {tmp_path / 'word-count'}" in result.output
    assert "hub publish ." in result.output
    assert "class WordCount" in (tmp_path / "word-count" / "word_count" / "impl.py").read_text()


def test_cli_error_is_one_line_and_exit_1(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["new", "2d", "--dir", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "error: operator name '2d' must be lower-case words of letters and digits joined by "
        "dashes, starting with a letter, e.g. 'word-count'"
    ]
