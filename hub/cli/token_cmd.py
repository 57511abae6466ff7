"""`hub token`: manage the upload tokens of a hub's storage."""

from __future__ import annotations

from pathlib import Path

import click

from .serve_cmd import default_storage


@click.group("token")
def token() -> None:
    """Manage upload tokens (stored hashed in the hub's storage)."""


@token.command("create")
@click.option("--storage", type=click.Path(file_okay=False, path_type=Path),
              help="Storage directory [default: <data dir>/storage].")
def create(storage: Path | None) -> None:
    """Create an upload token and print it (shown once; only its hash is kept)."""
    from ..server import Storage, create_token

    store = Storage(storage or default_storage())
    click.echo("new upload token (use it as HUB_TOKEN, or twine's password with user __token__):",
               err=True)
    click.echo(create_token(store))
