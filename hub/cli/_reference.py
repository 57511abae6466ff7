"""Render the CLI reference (docs/cli.md) from the commands' own help texts.

Regenerate with ``python -m hub.cli._reference > docs/cli.md``; a test keeps
the committed file equal to what this renders.
"""

from __future__ import annotations

import click

from . import main


def render_reference() -> str:
    """Markdown with the `--help` text of `hub` and of every command and subcommand."""
    parts = ["# `hub` command reference", "", "Generated from `hub COMMAND --help`.", ""]
    for path, command in _walk(main, ["hub"]):
        parts += [f"## `{' '.join(path)}`", "", "```text", _help(command, path), "```", ""]
    return "\n".join(parts)


def _walk(command: click.Command, path: list[str]) -> list[tuple[list[str], click.Command]]:
    found = [(path, command)]
    if isinstance(command, click.Group):
        ctx = click.Context(command, info_name=path[-1])
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                found += _walk(sub, [*path, name])
    return found


def _help(command: click.Command, path: list[str]) -> str:
    parent = None
    for name in path[:-1]:
        parent = _context(click.Command(name), name, parent)
    return command.get_help(_context(command, path[-1], parent)).rstrip()


def _context(command: click.Command, name: str, parent: click.Context | None) -> click.Context:
    return click.Context(command, info_name=name, parent=parent,
                         help_option_names=["-h", "--help"], terminal_width=88)


if __name__ == "__main__":
    print(render_reference())
