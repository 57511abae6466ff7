"""`hub env`, `hub lock` and `hub cache`: operators' locks and Ray runtime_envs."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .._registry import Registry
from ._output import print_json, print_table

RESOLVER = click.option("--resolver", type=click.Choice(["uv", "pip-tools"]), default=None,
                        help="Resolver to lock with (default: uv).")
PYTHON = click.option("--python", "python_version", default=None,
                      help="Target Python version, e.g. 3.11 (default: the driver's).")
PLATFORM = click.option("--platform", "platform_", default=None,
                        help="Target sys.platform, e.g. linux (default: the driver's).")


def _target(python_version: str | None, platform_: str | None):  # type: ignore[no-untyped-def]
    from runtime_env import Target

    here = Target.current()
    return Target(python_version or here.python_version, platform_ or here.platform,
                  here.machine)


@click.command("env")
@click.argument("names", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print compact JSON (one line).")
@click.option("--ship", type=click.Choice(["auto", "index", "py_modules"]), default="auto",
              help="How workers get the operator: hub index, py_modules, or auto.")
@RESOLVER
@PYTHON
@PLATFORM
def env(names: tuple[str, ...], as_json: bool, ship: str, resolver: str | None,
        python_version: str | None, platform_: str | None) -> None:
    """Print the Ray runtime_env for NAMES (one shared env; use with --runtime-env-json)."""
    from runtime_env import fused_runtime_env, get_resolver

    registry = Registry.discover()
    specs = [registry.get(n) for n in names]
    result = fused_runtime_env(specs, ship=ship,  # type: ignore[arg-type]
                               target=_target(python_version, platform_),
                               resolver=get_resolver(resolver))
    if result is None:
        click.echo("the cluster already has everything these operators need: no env", err=True)
    data = result or {}
    click.echo(json.dumps(data, separators=(",", ":")) if as_json else json.dumps(data, indent=2))


@click.command("lock")
@click.argument("names", nargs=-1, required=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write here (pylock.toml format when the name ends in .toml).")
@RESOLVER
@PYTHON
@PLATFORM
def lock(names: tuple[str, ...], output: Path | None, resolver: str | None,
         python_version: str | None, platform_: str | None) -> None:
    """Lock the third-party requirements of NAMES (requirements format)."""
    from runtime_env import get_resolver, lock_operator, merge

    registry = Registry.discover()
    target, chosen = _target(python_version, platform_), get_resolver(resolver)
    merged = merge({n: lock_operator(registry.get(n), target=target, resolver=chosen)
                    for n in names})
    text = merged.pylock_toml() if output and output.suffix == ".toml" else \
        merged.requirements_txt()
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text)
        click.echo(f"wrote {len(merged.pins)} pins to {output}", err=True)


@click.group("cache")
def cache() -> None:
    """Inspect or prune the cache of resolved locks."""


@cache.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def cache_list(as_json: bool) -> None:
    """List cached locks, oldest first."""
    from runtime_env import LockCache

    store = LockCache.default()
    rows = [e.to_dict() for e in store.entries()]
    if as_json:
        print_json(rows)
    elif not rows:
        click.echo(f"no cached locks in {store.root}")
    else:
        print_table(rows, ["key", "resolver", "pins", "created", "requirements"])


@cache.command("prune")
@click.option("--older-than", type=float, default=None,
              help="Only locks older than this many days (default: all).")
def cache_prune(older_than: float | None) -> None:
    """Delete cached locks."""
    from runtime_env import LockCache

    seconds = older_than * 86400 if older_than is not None else None
    removed = LockCache.default().prune(older_than=seconds)
    click.echo(f"removed {removed} cached lock{'s' if removed != 1 else ''}")
