"""`hub mirror`: copy every wheel the envs of operators need into the hub (issue #14)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from ._output import print_json

if TYPE_CHECKING:
    from runtime_env import Planner, Target

    from ..client import HubClient

F = Callable[..., Any]


def target_options(command: F) -> F:
    """The options naming the nodes' kinds: each repeatable or a comma list; every
    combination is a target; one not given is this machine's."""
    options = [
        click.option("--python", "pythons", multiple=True, metavar="VERSION",
                     help="Target Python version(s), e.g. 3.11 or 3.11,3.12."),
        click.option("--platform", "platforms", multiple=True, metavar="PLATFORM[/MACHINE]",
                     help="Target sys.platform(s), with a machine if not this one's, e.g. "
                          "linux or linux/aarch64."),
        click.option("--accelerator", "accelerators", multiple=True, metavar="ACCELERATOR",
                     help="cpu, or the CUDA version the nodes' driver runs, e.g. cu121 "
                          "(several: cpu,cu121)."),
        click.option("--resolver", type=click.Choice(["uv", "pip-tools"]), default=None,
                     help="Resolver to lock with (default: uv)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def targets_and_planner(pythons: tuple[str, ...], platforms: tuple[str, ...],
                        accelerators: tuple[str, ...], resolver: str | None
                        ) -> tuple[list[Target], Planner, HubClient]:
    """The targets (each said on stderr), a planner and the hub's client."""
    from runtime_env import Planner, get_resolver
    from runtime_env.mirror import targets

    from ..client import HubClient

    client = HubClient.from_settings()
    found = targets(pythons, platforms, accelerators)
    for target in found:
        click.echo(f"target: {target.describe()}", err=True)
    return found, Planner(resolver=get_resolver(resolver), client=client), client


@click.command("mirror")
@click.argument("names", nargs=-1, required=True)
@target_options
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def mirror(names: tuple[str, ...], pythons: tuple[str, ...], platforms: tuple[str, ...],
           accelerators: tuple[str, ...], resolver: str | None, as_json: bool) -> None:
    """Copy every wheel the envs of NAMES need on each target into the hub's mirror.

    For each operator (NAME or NAME==VERSION, on the hub at HUB_URL) and target, it locks
    as `hub lock` does and copies each pinned wheel (plus what a bare node needs to build
    its env: opshub's own dependencies and the pinned uv) from the upstream sources
    (PyPI, PIP_INDEX_URL, extra indexes, find-links folders), checked against the lock's
    sha256 as it streams. Run on a connected machine; then the hub can serve the envs
    offline (HUB_OFFLINE=1), or `hub bundle` carries them to another hub. Mirroring
    needs a token for every project (`hub token create`). Run it again after an
    interruption: what the hub has is skipped and nothing fetched is fetched again.
    """
    from .._mirror import plan_mirror, run_mirror

    found, planner, client = targets_and_planner(pythons, platforms, accelerators, resolver)
    plan = plan_mirror(list(names), found, client, planner)
    summary = run_mirror(plan, client, planner.settings.cache_dir / "mirror",
                         progress=not as_json)
    if as_json:
        print_json({"operators": summary.operators, "targets": summary.targets,
                    "files": summary.files, "bytes": summary.bytes,
                    "already": summary.already, "already_bytes": summary.already_bytes})
    else:
        click.echo(summary.line())
