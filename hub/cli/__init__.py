"""The `hub` command line.

Each command lives in its own module and is imported only when it runs, so
`hub list` stays fast and a command with heavy imports costs nothing elsewhere.
Commands parse arguments, call the library and print; library errors
(:class:`hub.HubError`) become one line on stderr and exit code 1.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from .._exceptions import HubError

# name -> "module:attribute" of a click command; add a line to add a command.
COMMANDS: dict[str, str] = {
    "list": "hub.cli.list_cmd:list_operators",
    "env": "hub.cli.env_cmd:env",
    "lock": "hub.cli.env_cmd:lock",
    "cache": "hub.cli.env_cmd:cache",
    "serve": "hub.cli.serve_cmd:serve",
    "token": "hub.cli.token_cmd:token",
    "publish": "hub.cli.publish_cmd:publish",
    "install": "hub.cli.install_cmd:install",
    "uninstall": "hub.cli.install_cmd:uninstall",
    "search": "hub.cli.search_cmd:search",
    "info": "hub.cli.search_cmd:info",
    "yank": "hub.cli.yank_cmd:yank",
    "unyank": "hub.cli.yank_cmd:unyank",
    "new": "hub.cli.new_cmd:new_operator",
    "admin": "hub.cli.admin_cmd:admin",
    "mirror": "hub.cli.mirror_cmd:mirror",
    "bundle": "hub.cli.bundle_cmd:bundle",
    "import": "hub.cli.bundle_cmd:import_",
}


class HubGroup(click.Group):
    """A group that loads commands lazily and turns HubError into exit code 1."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, _, attr = target.partition(":")
        command: click.Command = getattr(importlib.import_module(module), attr)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except HubError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)


@click.group(cls=HubGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="opshub", prog_name="hub")
def main() -> None:
    """opshub: install operators from a hub and run them in Ray pipelines."""
