"""`hub bundle` and `hub import`: operators and their mirror across an air gap (#14)."""

from __future__ import annotations

from pathlib import Path

import click

from ._output import print_json
from .mirror_cmd import target_options, targets_and_planner


@click.command("bundle")
@click.argument("names", nargs=-1, required=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The archive to write (a tar), e.g. ops.bundle.")
@target_options
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def bundle(names: tuple[str, ...], output: Path, pythons: tuple[str, ...],
           platforms: tuple[str, ...], accelerators: tuple[str, ...],
           resolver: str | None, as_json: bool) -> None:
    """Write NAMES, their mirrored wheels and their locks into one archive for `hub import`.

    Run on the connected side after `hub mirror NAMES` with the same targets (the same
    --python, --platform and --accelerator; a target the mirror lacks is refused with
    the `hub mirror` to run): the archive holds each operator's wheel, every wheel its
    env needs on each target, the locks and a manifest with every sha256. It prints the
    archive's own sha256, to compare on the air-gapped side (`hub import --sha256`).
    """
    from .._bundling import make_bundle

    found, planner, client = targets_and_planner(pythons, platforms, accelerators, resolver)
    summary = make_bundle(list(names), found, output, client, planner, progress=not as_json)
    if as_json:
        print_json({"path": str(summary.path), "operators": summary.operators,
                    "mirrored": summary.mirrored, "bytes": summary.bytes,
                    "sha256": summary.sha256})
    else:
        click.echo(summary.line())


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--sha256", "expected", default=None,
              help="The sha256 `hub bundle` printed: refuse any other archive.")
@click.option("--json", "as_json", is_flag=True, help="Print the hub's report as JSON.")
def import_(file: Path, expected: str | None, as_json: bool) -> None:
    """Import a bundle (`hub bundle`) into the hub at HUB_URL, all of it or nothing.

    Every sha256 is verified here and again by the hub; a bundle with one byte changed
    is refused whole and the hub stays as it was. Files the hub already has are kept.
    Needs a token for every project.
    """
    from .._bundle import archive_sha256
    from .._bundling import import_bundle
    from .._exceptions import BundleError
    from .._progress import human
    from ..client import HubClient

    actual = archive_sha256(file) if expected else None  # BundleError: not a bundle at all
    if expected and actual != expected.strip().lower():
        raise BundleError(f"bundle {file.name} has sha256 {actual}, not {expected}: it is "
                          "not the archive `hub bundle` wrote; nothing was imported")
    client = HubClient.from_settings()
    report = import_bundle(file, client, progress=not as_json)
    if as_json:
        print_json(report)
    else:
        click.echo(f"imported {report['operators']} operator wheel(s) and {report['mirrored']} "
                   f"mirrored wheel(s), {human(report['bytes'])}, into {client.url}; "
                   f"{report['already']} already there")
