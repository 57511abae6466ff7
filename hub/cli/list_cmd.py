"""`hub list`: the installed operators and their status."""

from __future__ import annotations

import click

from .._operator import normalize_name
from .._registry import Registry
from ._output import print_json, print_table


@click.command("list")
@click.argument("names", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_operators(names: tuple[str, ...], as_json: bool) -> None:
    """List installed operators (or only NAMES), broken and disabled ones included."""
    registry = Registry.discover()
    records = registry.records
    if names:
        wanted = {normalize_name(n) for n in names}
        for name in wanted - {r.name for r in records}:
            registry.get(name)  # raises OperatorNotFound with close matches
        records = [r for r in records if r.name in wanted]
    rows = [r.to_dict() for r in records]
    if as_json:
        print_json(rows)
    elif not rows:
        click.echo("no operators installed — try `hub install image-embed`")
    else:
        print_table(rows, ["name", "version", "kind", "distribution", "status", "error"])
