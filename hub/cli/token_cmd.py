"""`hub token`: create, list and revoke the upload tokens of a hub's storage."""

from __future__ import annotations

from pathlib import Path

import click

from ._output import print_json, print_table
from .serve_cmd import STORAGE_OPTION, default_storage


@click.group("token")
def token() -> None:
    """Manage upload tokens (stored hashed in the hub's storage)."""


@token.command("create")
@STORAGE_OPTION
@click.option("--project", "projects", multiple=True, metavar="NAME",
              help="Let the token upload to and yank only this project (repeatable); "
                   "default: every project.")
def create(storage: Path | None, projects: tuple[str, ...]) -> None:
    """Create an upload token and print it (shown once; only its hash is kept)."""
    from ..server import Storage, create_token

    store = Storage(storage or default_storage())
    scope = ", ".join(projects) if projects else "every project"
    click.echo(f"new upload token for {scope} (use it as HUB_TOKEN, or twine's password with "
               "user __token__):", err=True)
    click.echo(create_token(store, projects or None))


@token.command("list")
@STORAGE_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_tokens(storage: Path | None, as_json: bool) -> None:
    """List tokens: their prefix, creation time and projects (never the secret)."""
    from ..server import Storage

    tokens = Storage(storage or default_storage()).tokens()
    if as_json:  # projects null: every project
        print_json([{"prefix": t.prefix, "created": t.created,
                     "projects": list(t.projects) if t.projects is not None else None}
                    for t in tokens])
        return
    print_table([{"prefix": t.prefix or "(made before prefixes)", "created": t.created,
                  "projects": t.scope} for t in tokens], ["prefix", "created", "projects"])


@token.command("revoke")
@click.argument("prefix")
@STORAGE_OPTION
def revoke(prefix: str, storage: Path | None) -> None:
    """Revoke the token with PREFIX (as `hub token list` shows it) or the whole token.

    Revoking the local token (the one `hub serve` wrote to local-token) writes a new one
    there, so clients on this machine keep working.
    """
    from ..server import Storage, revoke_token

    revoked = revoke_token(Storage(storage or default_storage()), prefix)
    record = revoked.record
    click.echo(f"revoked token {record.prefix or prefix} (created {record.created}, for "
               f"{record.scope}); it no longer uploads or yanks")
    if revoked.new_local_token:
        click.echo(f"it was the local token: wrote a new one to {revoked.new_local_token} "
                   "for clients on this machine (delete that file to have none)")
