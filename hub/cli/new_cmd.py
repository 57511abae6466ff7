"""`hub new`: scaffold a custom operator project."""

from __future__ import annotations

from pathlib import Path

import click

from .._scaffold import scaffold


@click.command("new")
@click.argument("name")
@click.option("--class", "as_class", is_flag=True,
              help="A class operator: constructed once per worker (e.g. to load a model), "
                   "called with batches.")
@click.option("--dir", "directory", default=".", show_default=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Where to create the project folder NAME.")
def new_operator(name: str, as_class: bool, directory: Path) -> None:
    """Create a project for a custom operator NAME (e.g. word-count).

    It holds pyproject.toml with the entry point, a light plugin module, the
    implementation, a test and a README card: ready to test and `hub publish`.
    """
    root = scaffold(name, kind="class" if as_class else "function", directory=directory)
    package = root.name.replace("-", "_")
    click.echo(f"created {root}")
    click.echo("next:")
    click.echo(f"  cd {root}")
    click.echo(f"  edit {package}/impl.py, README.md and the dependencies in pyproject.toml")
    click.echo('  pip install -e ".[test]" && python -m pytest')
    click.echo("  hub publish .")
