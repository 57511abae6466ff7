"""`hub yank` and `hub unyank`: hide a version from installers without deleting it (PEP 592)."""

from __future__ import annotations

import click

from ._output import print_json


@click.command("yank")
@click.argument("name")
@click.argument("version")
@click.option("--reason", required=True, help="Why, shown to anyone who pins this version.")
@click.option("--json", "as_json", is_flag=True, help="Print the server's answer as JSON.")
def yank(name: str, version: str, reason: str, as_json: bool) -> None:
    """Yank NAME VERSION: installers skip it unless it is pinned with ==."""
    from ..client import HubClient

    answer = HubClient.from_settings().yank(name, version, reason)
    _report(answer, as_json, f"yanked {name} {version}: {reason}")


@click.command("unyank")
@click.argument("name")
@click.argument("version")
@click.option("--json", "as_json", is_flag=True, help="Print the server's answer as JSON.")
def unyank(name: str, version: str, as_json: bool) -> None:
    """Undo `hub yank NAME VERSION`."""
    from ..client import HubClient

    _report(HubClient.from_settings().unyank(name, version), as_json, f"unyanked {name} {version}")


def _report(answer: object, as_json: bool, text: str) -> None:
    if as_json:
        print_json(answer)
    else:
        click.echo(text)
