"""`hub mirror`: copy every wheel operators' envs need into the hub's mirror (issue #14).

For each operator (described by the hub) and target, the planner's locks give every pin
and its sha256 (:mod:`runtime_env.mirror`); each pin's wheel is found in the upstream
sources (PyPI, extra indexes, find-links folders such as /opt/wheels), checked against
the lock while it streams (:mod:`hub._fetch`), and PUT into the hub, which checks the
sha256 again as it receives it.

Idempotent: a pin the hub's mirror already holds (one of the lock's sha256) costs no
request upstream. Resumable: a download finished before a kill is kept in the spool
and never fetched again (once checked against this lock); a cut one resumes with a
Range request. The spool keeps only what the hub lacks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import requests

from ._dist import check_mirror_filename
from ._exceptions import ConfigError, InvalidDistribution
from ._fetch import check_local, fetch
from ._hub_operators import fetch_spec
from ._progress import Counted, byte_bar, human

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

    def count(self, size: int, stored: bool) -> None:
        """One copy: added by this run, or found on the hub when it arrived."""
        if stored:
            self.files, self.bytes = self.files + 1, self.bytes + size
        else:
            self.already, self.already_bytes = self.already + 1, self.already_bytes + size

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
            digest = file["hashes"].get("sha256")
            if isinstance(digest, str):  # a file listed without one matches no lock
                found[digest] = int(file.get("size") or 0)
    return found


def run_mirror(plan: MirrorPlan, client: HubClient, spool: Path, progress: bool = True
               ) -> MirrorSummary:
    """Copy every file of ``plan`` into the hub, under one progress bar."""
    summary = MirrorSummary([s.name for s in plan.specs],
                            [t.describe() for t in plan.targets],
                            already=len(plan.present), already_bytes=sum(plan.present.values()))
    clean_spool(spool, client)
    total = sum(c.source.size or 0 for c in plan.copies)
    session = requests.Session()
    with byte_bar(total, "mirroring", progress) as bar:
        for copy in plan.copies:
            bar.set_postfix_str(copy.source.filename, refresh=False)
            size, stored = copy_one(copy, client, spool, session, bar.update)
            summary.count(size, stored)
    return summary


def copy_one(copy: Copy, client: HubClient, spool: Path, session: requests.Session,
             progress: Callable[[int], None]) -> tuple[int, bool]:
    """Fetch (or read) one wheel, check it, PUT it into the hub; its size, and whether
    the hub stored it (False: it had those bytes already, e.g. from a mirror run at the
    same time)."""
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
        body = Counted(handle, size, progress if local is not None else lambda n: None)
        stored = client.mirror_upload(body, source.filename, needed.name, digest,
                                      source.upload_time)
    if local is None:
        path.unlink(missing_ok=True)  # in the hub now; the spool keeps only what is not
    return size, stored


def clean_spool(spool: Path, client: HubClient) -> None:
    """Drop spooled downloads whose filename the hub's mirror holds: a kill between the
    PUT and the unlink left them, and a filename holds one sha256 forever there, so they
    can never be sent again."""
    if not spool.is_dir():
        return
    spooled: dict[str, list[Path]] = {}
    for path in spool.iterdir():
        try:
            project, _ = check_mirror_filename(path.name.removesuffix(".part"))
        except InvalidDistribution:
            continue  # not a download of ours
        spooled.setdefault(project, []).append(path)
    for project, paths in sorted(spooled.items()):
        held = {f["filename"] for f in client.mirrored(project)}
        for path in paths:
            if path.name.removesuffix(".part") in held:
                path.unlink(missing_ok=True)
