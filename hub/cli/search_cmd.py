"""`hub search` and `hub info`: what the hub offers."""

from __future__ import annotations

from typing import Any

import click

from .._exceptions import HubError
from ..metadata import FIELDS, RESOURCES, with_defaults
from ._output import print_json, print_table


@click.command("search")
@click.argument("query", default="")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def search(query: str, as_json: bool) -> None:
    """Search the hub's projects by name, summary and keywords (all of them without QUERY).

    A word of QUERY matches a project's name, summary or a keyword, or one of its
    operators' names or descriptions, in any case; every word must match.
    """
    from ..client import HubClient

    client = HubClient.from_settings()
    results = client.search(query)
    if as_json:
        print_json(results)
    elif not results:
        click.echo(f"nothing on {client.url} matches {query!r}")
    else:
        rows = [dict(r, operators=", ".join(r.get("operators", []))) for r in results]
        print_table(rows, ["name", "version", "operators", "summary"])


@click.command("info")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def info(name: str, as_json: bool) -> None:
    """Show a project (NAME, NAME==VERSION or an operator name): versions, operators, card."""
    from .._hub_operators import find_project
    from ..client import HubClient

    name, _, wanted = name.partition("==")
    client = HubClient.from_settings()
    found = find_project(name.strip(), client)
    version = _pick(found, wanted.strip() or found["latest"])["version"]
    project = client.project(found["name"], readme=version)  # with that version's README
    if as_json:
        print_json(project)
        return
    _print_version(project, _pick(project, version))


def _pick(project: dict[str, Any], version: str) -> dict[str, Any]:
    releases: list[dict[str, Any]] = project["versions"]
    for release in releases:
        if release["version"] == version:
            return release
    available = ", ".join(v["version"] for v in project["versions"])
    raise HubError(f"{project['name']} has no version {version!r} on the hub (has: {available})")


def _print_version(project: dict[str, Any], release: dict[str, Any]) -> None:
    click.echo(f"{project['name']} {release['version']} — {release.get('summary') or ''}")
    click.echo(f"versions:  {', '.join(_version_label(v) for v in project['versions'])}")
    click.echo(f"requires:  {', '.join(release.get('requires_dist') or []) or '-'}")
    click.echo(f"python:    {release.get('requires_python') or 'any'}")
    click.echo(f"install:   hub install {project['name']}=={release['version']}")
    for op in release.get("operators", []):
        click.echo("")
        click.echo("\n".join(_operator_lines(op)))
    if release.get("readme"):
        click.echo("")
        click.echo(release["readme"].rstrip())


def _version_label(release: dict[str, Any]) -> str:
    if not release.get("yanked"):
        return str(release["version"])
    reason = release.get("yanked_reason")
    return f"{release['version']} (yanked{': ' + reason if reason else ''})"


def _operator_lines(op: dict[str, Any]) -> list[str]:
    """An operator as its register() call says: every metadata field, resources on one line."""
    if op.get("static") is False:  # the wheel's plugin computes it: only its name is known
        return [f"operator {op.get('name')}  (registered at run time by {op.get('target')}; "
                "`hub list` shows it once installed)"]
    metadata = with_defaults(op)
    lines = [f"operator {op.get('name')}  ({op.get('target')})"]
    lines += [f"  {key + ':':<12} {_text(value)}" for key, value in metadata.items()
              if not FIELDS[key].resource]
    resources = [f"{key}={metadata[key]}" for key in RESOURCES if metadata[key] is not None]
    return [*lines, f"  {'resources:':<12} {' '.join(resources)}"]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value)) or "-"
    return str(value) or "-"
