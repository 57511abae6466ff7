"""`hub admin`: check a hub's storage, or recover it without serving."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ._output import print_json
from .serve_cmd import STORAGE_OPTION, default_storage


@click.group("admin")
def admin() -> None:
    """Look after a hub's storage (run on the hub's machine)."""


@admin.command("check")
@STORAGE_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def check(storage: Path | None, as_json: bool) -> None:
    """Verify every file against its record and sha256, and report; change nothing.

    Exits 1 when anything is wrong (a file missing or changed, a file without a
    record, a folder or a symbolic link inside files/, a damaged row or database), or
    when the folder is not a hub's storage. Safe beside a running `hub serve`.
    """
    from ..server import check as check_storage

    report = check_storage(storage or default_storage())
    if as_json:
        print_json({"checked": report.checked, "problems": report.problems})
    else:
        for problem in report.problems:
            click.echo(problem)
        verdict = "all match" if report.ok else f"{len(report.problems)} problem(s)"
        click.echo(f"checked {report.checked} file(s) against their records and sha256: "
                   f"{verdict}")
    if not report.ok:
        sys.exit(1)


@admin.command("recover")
@STORAGE_OPTION
def recover(storage: Path | None) -> None:
    """Do what `hub serve` does at start: rebuild a lost or damaged database from files/
    and the journal, re-index or quarantine unexplained files (nothing is deleted).

    Refused while a `hub serve` runs on the storage (stop it first).
    """
    from ..server import recover as recover_storage
    from ..server import storage_lock

    root = storage or default_storage()
    with storage_lock(root, "hub admin recover"):
        _, report = recover_storage(root)
    for line in report.lines() or ["recovery: the storage was consistent; nothing to do"]:
        click.echo(line)
