"""`hub publish`: build, validate and upload operator distributions."""

from __future__ import annotations

from pathlib import Path

import click

from ._output import print_json, print_table


@click.command("publish")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--skip-existing", is_flag=True,
              help="Leave files the hub already has as they are, instead of failing.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def publish(paths: tuple[Path, ...], skip_existing: bool, as_json: bool) -> None:
    """Publish project folders or wheels (PATH|DIST...) to the hub (HUB_URL, HUB_TOKEN)."""
    from .._publish import publish as publish_all
    from ..client import HubClient

    client = HubClient.from_settings()
    results = publish_all(
        paths, client, skip_existing=skip_existing, progress=not as_json,
        on_build=None if as_json else lambda p: click.echo(f"building {p} ...", err=True),
    )
    rows = [r.to_dict() for r in results]
    if as_json:
        print_json(rows)
        return
    for row in rows:
        row["operators"] = ", ".join(row["operators"])
    print_table(rows, ["name", "version", "status", "operators"])
    click.echo(f"hub: {client.url}")
