"""`hub mirror`: copy every wheel operators' envs need into the hub's mirror (issue #14).

For each operator (described by the hub) and target, the planner's locks give every pin
and its sha256 (:mod:`runtime_env.mirror`); each pin's wheel is found in the upstream
sources (PyPI, extra indexes, find-links folders such as /opt/wheels), checked against
the lock while it streams (:mod:`hub._fetch`), and PUT into the hub, which checks the
sha256 again as it receives it.

Idempotent: a pin the hub's mirror already holds (one of the lock's sha256) costs no
request upstream. Resumable: a download finished before a kill is kept in the spool
and never fetched again; a cut one resumes with a Range request.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

import requests

from ._exceptions import ConfigError
from ._fetch import check_local, fetch
from ._hub_operators import fetch_spec

if TYPE_CHECKING:
    from runtime_env import Planner, Target
    from runtime_env.mirror import Needed, SourceFile

    from ._operator import OperatorSpec
    from .client import HubClient


@dataclass
class MirrorSummary:
    """What a mirror run copied, and what the hub had already."""

    operators: list[str]
    targets: list[str]
    files: int = 0
    bytes: int = 0
    already: int = 0
    already_bytes: int = 0

    def line(self) -> str:
        where = f"{len(self.targets)} target{'s' if len(self.targets) != 1 else ''}"
        return (f"mirrored {self.files} file(s), {human(self.bytes)}, for "
                f"{', '.join(self.operators)} on {where} ({'; '.join(self.targets)}); "
                f"{self.already} already there ({human(self.already_bytes)})")


@dataclass(frozen=True)
class Copy:
    """One wheel to copy into the mirror: the pin it is for and where it comes from."""

    needed: Needed
    source: SourceFile


@dataclass
class MirrorPlan:
    """The copies a mirror run makes, and the pins the hub has already (name -> size)."""

    specs: list[OperatorSpec]
    targets: list[Target]
    copies: list[Copy] = field(default_factory=list)
    present: dict[str, int] = field(default_factory=dict)  # sha256 -> size, on the hub


def plan_mirror(names: Sequence[str], targets: Sequence[Target], client: HubClient,
                planner: Planner) -> MirrorPlan:
    """Lock NAMES for each target and find every wheel the hub lacks in the sources."""
    from runtime_env.mirror import find_wheel, target_locks

    if planner.settings.offline:
        raise ConfigError("`hub mirror` copies from the upstream sources, so it runs on a "
                          "connected machine: unset HUB_OFFLINE (or `offline` in the config)")
    specs = [fetch_spec(client, name) for name in names]
    plan = MirrorPlan(specs, list(targets))
    sources, hub_names = planner.sources(specs), planner.hub_names(specs)
    needed = [n for t in targets for n in target_locks(planner, specs, t).needed(hub_names)]
    on_hub = _on_hub(client, {n.name for n in needed})
    chosen: dict[str, Copy] = {}
    for item in needed:
        hit = sorted(item.hashes & on_hub.keys())
        if hit:
            plan.present[hit[0]] = on_hub[hit[0]]
            continue
        copy = Copy(item, find_wheel(item, sources))
        chosen.setdefault(copy.source.sha256 or copy.source.url, copy)
    plan.copies = list(chosen.values())
    return plan


def _on_hub(client: HubClient, names: set[str]) -> dict[str, int]:
    """sha256 -> size of every mirrored file of these projects."""
    found: dict[str, int] = {}
    for name in sorted(names):
        for file in client.mirrored(name):
            found[str(file["hashes"].get("sha256"))] = int(file.get("size") or 0)
    return found


def run_mirror(plan: MirrorPlan, client: HubClient, spool: Path, progress: bool = True
               ) -> MirrorSummary:
    """Copy every file of ``plan`` into the hub, under one progress bar."""
    from tqdm import tqdm  # type: ignore[import-untyped]

    summary = MirrorSummary([s.name for s in plan.specs],
                            [t.describe() for t in plan.targets],
                            already=len(plan.present), already_bytes=sum(plan.present.values()))
    total = sum(c.source.size or 0 for c in plan.copies)
    session = requests.Session()
    with tqdm(total=total, unit="B", unit_scale=True, desc="mirroring", leave=False,
              disable=not (progress and sys.stderr.isatty())) as bar:
        for copy in plan.copies:
            bar.set_postfix_str(copy.source.filename, refresh=False)
            summary.bytes += copy_one(copy, client, spool, session, bar.update)
            summary.files += 1
    return summary


def copy_one(copy: Copy, client: HubClient, spool: Path, session: requests.Session,
             progress: Callable[[int], None]) -> int:
    """Fetch (or read) one wheel, check it, PUT it into the hub; the bytes copied."""
    from runtime_env.mirror import local_path

    source, needed = copy.source, copy.needed
    local = local_path(source.url)
    if local is not None:
        path, digest = check_local(local, needed.hashes)
    else:
        path, digest = fetch(source.url, source.filename, needed.hashes, spool, session,
                             progress)
    size = path.stat().st_size
    with open(path, "rb") as handle:
        body = _Counted(handle, size, progress if local is not None else lambda n: None)
        client.mirror_upload(body, source.filename, needed.name, digest, source.upload_time)
    if local is None:
        path.unlink(missing_ok=True)  # in the hub now; the spool keeps only what is not
    return size


class _Counted:
    """A file for requests to stream, with its length, counting what it reads."""

    def __init__(self, handle: IO[bytes], size: int, progress: Callable[[int], None]) -> None:
        self.handle, self.size, self.progress = handle, size, progress

    def __len__(self) -> int:
        return self.size

    def read(self, n: int = -1) -> bytes:
        data = self.handle.read(n)
        self.progress(len(data))
        return data


def human(size: int) -> str:
    """``842.3 MB``: sizes as people read them (powers of 1000, as pip and uv print)."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"
