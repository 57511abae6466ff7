"""`hub install` and `hub uninstall`: operator distributions in and out of an environment."""

from __future__ import annotations

import click

from ._output import print_json

PYTHON_HELP = "Interpreter whose environment to change (default: the one running hub)."
INSTALLER_HELP = "Installer to run (default: uv when available, else pip)."


@click.command("install")
@click.argument("requirements", nargs=-1, required=True)
@click.option("--python", "python", metavar="PATH", help=PYTHON_HELP)
@click.option("--installer", type=click.Choice(["uv", "pip"]), help=INSTALLER_HELP)
@click.option("--allow-changes", is_flag=True,
              help="Let the install upgrade or downgrade packages already installed.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def install(requirements: tuple[str, ...], python: str | None, installer: str | None,
            allow_changes: bool, as_json: bool) -> None:
    """Install operators from the hub: NAME[==VERSION]... (a project or an operator name).

    Their third-party dependencies come from the default index (PIP_INDEX_URL, else
    PyPI); offline (HUB_OFFLINE=1) from the hub's mirror only (`hub mirror`).
    """
    from .._config import load_settings
    from .._install import install as install_reqs
    from ..client import HubClient

    change = install_reqs(requirements, HubClient.from_settings(), python=python,
                          installer=installer, allow_changes=allow_changes,
                          offline=load_settings().offline)
    if as_json:
        print_json(change.to_dict())
        return
    click.echo(f"installed {', '.join(change.distributions)}")
    _print_rows("removed", change.removed, change.listed, quiet=True)
    _print_rows("added", change.added, change.listed)


@click.command("uninstall")
@click.argument("names", nargs=-1, required=True)
@click.option("--python", "python", metavar="PATH", help=PYTHON_HELP)
@click.option("--installer", type=click.Choice(["uv", "pip"]), help=INSTALLER_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def uninstall(names: tuple[str, ...], python: str | None, installer: str | None,
              as_json: bool) -> None:
    """Uninstall operator distributions, by distribution or operator NAME (never imports them)."""
    from .._install import uninstall as uninstall_names

    change = uninstall_names(names, python=python, installer=installer)
    if as_json:
        print_json(change.to_dict())
        return
    click.echo(f"uninstalled {', '.join(change.distributions)}")
    _print_rows("removed", change.removed, change.listed)


def _print_rows(verb: str, rows: tuple[tuple[str, str, str], ...], listed: bool,
                quiet: bool = False) -> None:
    if not listed:
        if not quiet:
            click.echo("(operators not listed: that environment has no opshub)")
        return
    if not rows and not quiet:
        click.echo(f"no operators {verb}")
    for name, dist, version in rows:
        click.echo(f"  {verb} operator {name} ({dist} {version})")
