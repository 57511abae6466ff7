"""`hub env`, `hub lock` and `hub cache`: operators' locks and Ray runtime_envs."""

from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .._exceptions import ConfigError
from .._registry import ops
from ._output import print_json, print_table

if TYPE_CHECKING:
    from runtime_env import Planner, Scope, Target

    from .._operator import OperatorSpec

F = Callable[..., Any]


def _target_options(command: F) -> F:
    """The options that say which nodes an env or lock is for."""
    options = [
        click.option("--address", default=None,
                     help="Ray cluster to probe (default: RAY_ADDRESS; with neither, a bare "
                          "node like this machine is assumed)."),
        click.option("--resources", "resources", default=None, metavar="JSON",
                     help="The stage's Ray resources, e.g. '{\"bare\": 1}': only nodes "
                          "that offer them are targets."),
        click.option("--python", "python_version", default=None, metavar="VERSION",
                     help="Target Python version, e.g. 3.11 (overrides the probe)."),
        click.option("--platform", "platform_", default=None, metavar="PLATFORM[/MACHINE]",
                     help="Target sys.platform, with a machine if not the target's, e.g. "
                          "linux or linux/aarch64 (overrides the probe)."),
        click.option("--accelerator", default=None, metavar="ACCELERATOR",
                     help="cpu, or the CUDA version the nodes' driver runs, e.g. cu121 or "
                          "12.1 (overrides the probe)."),
        click.option("--resolver", type=click.Choice(["uv", "pip-tools"]), default=None,
                     help="Resolver to lock with (default: uv)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _scope(planner: Planner, specs: list[OperatorSpec], address: str | None,
           resources: str | None, overrides: dict[str, str | None]) -> Scope:
    """Connect to the cluster if one is named, probe it, apply the overrides, and say on
    stderr which target the env is for."""
    if address or os.environ.get("RAY_ADDRESS"):
        import ray

        _check_reachable(address or os.environ["RAY_ADDRESS"])
        ray.init(address=address, log_to_driver=False, logging_level=logging.ERROR)
    options = {"resources": _resources(resources)}
    scope = planner.scope(specs, ray_options=options)
    changed = any(overrides.values())
    if changed:
        scope = planner.scope(specs, ray_options=options,
                              target=_overridden(scope.target, **overrides))
    if not scope.assumed:
        how = f"probed on {len(scope.survey.nodes)} node(s)"
    elif changed and planner.connected():
        how = "assumed: a bare node of that kind; the cluster's nodes are of another"
    else:
        how = ("assumed: no Ray cluster (pass --address or set RAY_ADDRESS to probe one), a "
               "bare node like this machine")
    click.echo(f"target: {scope.target.describe()} ({how})", err=True)
    return scope


def _check_reachable(address: str) -> None:
    """Fail in one line when nothing listens at a ``host:port`` address (Ray itself would
    retry for minutes)."""
    host, sep, port = address.rpartition(":")
    if not sep or "://" in address or not port.isdigit():
        return  # "auto", ray:// or http:// addresses: Ray's own handling
    try:
        socket.create_connection((host, int(port)), timeout=3).close()
    except OSError:
        raise ConfigError(f"no Ray cluster answers at {address} — start one with `ray start "
                          "--head`, or fix --address / RAY_ADDRESS") from None


def _resources(text: str | None) -> dict[str, float]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict) or not all(isinstance(v, int | float) for v in value.values()):
        raise ConfigError(f"--resources {text!r} must be a JSON object of Ray resources, e.g. "
                          "'{\"bare\": 1}'")
    return {str(k): float(v) for k, v in value.items()}


def _overridden(target: Target, python_version: str | None, platform_: str | None,
                accelerator: str | None) -> Target:
    """``target`` with the options given, read as `hub mirror` reads them (one value each)."""
    from runtime_env.mirror import targets

    given = [[v] if v else [] for v in (python_version, platform_, accelerator)]
    found = targets(given[0], given[1], given[2], base=target)
    if len(found) != 1:
        raise ConfigError("--python, --platform and --accelerator take one value each here "
                          "(one env is for one kind of node); `hub mirror` takes lists")
    return found[0]


def _planner(resolver: str | None, ship: str = "auto") -> Planner:
    from runtime_env import Planner, get_resolver

    return Planner(resolver=get_resolver(resolver), ship=ship)


def _overrides(python_version: str | None, platform_: str | None, accelerator: str | None
               ) -> dict[str, str | None]:
    return {"python_version": python_version, "platform_": platform_,
            "accelerator": accelerator}


@click.command("env")
@click.argument("names", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print compact JSON (one line).")
@click.option("--ship", type=click.Choice(["auto", "index", "py_modules"]), default="auto",
              help="How an installed operator's own code reaches nodes that lack it: its "
                   "wheel from the hub (index: the hub must have that version), its files "
                   "(py_modules), or auto: the hub's wheel when the hub has that version, "
                   "else its files. An operator from the hub always comes as its wheel.")
@_target_options
def env(names: tuple[str, ...], as_json: bool, ship: str, address: str | None,
        resources: str | None, python_version: str | None, platform_: str | None,
        accelerator: str | None, resolver: str | None) -> None:
    """Print the Ray runtime_env that runs NAMES (one shared env) on the target nodes.

    NAME is an installed operator, or one on the hub (NAME or NAME==VERSION; nothing is
    installed here); NAMES are locked together (pins no version satisfies for two of them
    are an error naming both and the package). The target (Python, platform,
    accelerator) is said on stderr. With a cluster (--address or RAY_ADDRESS) its nodes
    are probed and py_modules are uploaded to it as gcs:// URIs, so the env works for a
    task, an actor or `ray job submit --working-dir . --runtime-env-json`; Ray deletes
    such an upload after 10 minutes unless a job uses it, so submit within that time or
    print the env again. Without a cluster py_modules are local folders (`ray job
    submit` uploads those itself).
    """
    planner = _planner(resolver, ship)
    specs = [ops.spec(n) for n in names]
    scope = _scope(planner, specs, address, resources,
                   _overrides(python_version, platform_, accelerator))
    result = planner.runtime_env(specs, scope=scope)
    if result is None:
        click.echo("the target nodes already have everything these operators need: no env",
                   err=True)
    data = dict(result or {})
    click.echo(json.dumps(data, separators=(",", ":")) if as_json else json.dumps(data, indent=2))


@click.command("lock")
@click.argument("names", nargs=-1, required=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write here (pylock.toml format when the name ends in .toml).")
@click.option("--hashes", is_flag=True, help="Add each pin's sha256 hashes (pip --require-hashes).")
@_target_options
def lock(names: tuple[str, ...], output: Path | None, hashes: bool, address: str | None,
         resources: str | None, python_version: str | None, platform_: str | None,
         accelerator: str | None, resolver: str | None) -> None:
    """Lock the third-party requirements of NAMES for the target nodes (requirements format).

    NAME is an installed operator, or one on the hub (NAME or NAME==VERSION; nothing is
    installed here). NAMES are locked together, as one env: requirements no version
    satisfies for two of them are an error naming both and the package. The target
    (Python, platform, accelerator: probed with --address or RAY_ADDRESS, else assumed)
    is said on stderr, so stdout is the lock alone.
    """
    planner = _planner(resolver)
    specs = [ops.spec(n) for n in names]
    scope = _scope(planner, specs, address, resources,
                   _overrides(python_version, platform_, accelerator))
    merged = planner.lock(specs, scope)
    text = merged.pylock_toml() if output and output.suffix == ".toml" else \
        merged.requirements_txt(with_hashes=hashes)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text)
        click.echo(f"wrote {len(merged.pins)} pins to {output}", err=True)


@click.group("cache")
def cache() -> None:
    """Inspect or prune the caches of resolved locks and cluster surveys."""


@cache.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def cache_list(as_json: bool) -> None:
    """List cached locks, oldest first (damaged entries are skipped and re-resolved)."""
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
              help="Only entries older than this many days (default: all).")
def cache_prune(older_than: float | None) -> None:
    """Delete cached locks and cluster surveys (a node changed in place is surveyed anew)."""
    from runtime_env import LockCache, SurveyCache

    seconds = older_than * 86400 if older_than is not None else None
    locks = LockCache.default().prune(older_than=seconds)
    surveys = SurveyCache.default().prune(older_than=seconds)
    click.echo(f"removed {_count(locks, 'cached lock')} and {_count(surveys, 'survey')}")


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'s' if n != 1 else ''}"
