"""`hub bundle` and `hub import`: carry operators and their mirror across an air gap (#14).

``bundle`` runs on the connected side, against a hub that mirrored the operators: it
locks them for each target (the same locks `hub mirror` copied), takes each pin's wheel
from the hub's mirror and each operator's wheel from the hub, and writes one archive
(:mod:`hub._bundle`) with the locks in its manifest. ``import`` runs on the air-gapped
side: it verifies the archive whole here (so a damaged one fails before any upload),
then streams it to the hub, which verifies it again and commits all of it or nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ._bundle import BundleFile, BundleLock, Member, new_manifest, read_bundle, write_bundle
from ._exceptions import BundleError
from ._hub_operators import fetch_spec
from ._operator import normalize_name
from ._progress import Counted, byte_bar, human

if TYPE_CHECKING:
    from runtime_env import Planner, Target
    from runtime_env.mirror import Needed, TargetLocks

    from ._operator import OperatorSpec
    from .client import HubClient


@dataclass(frozen=True)
class BundleSummary:
    """What a bundle holds, and its own sha256 (to check on the other side)."""

    path: Path
    operators: int
    mirrored: int
    bytes: int
    sha256: str

    def line(self) -> str:
        return (f"wrote {self.path}: {self.operators} operator wheel(s) and {self.mirrored} "
                f"mirrored wheel(s), {human(self.bytes)}; sha256 {self.sha256}")


def make_bundle(names: Sequence[str], targets: Sequence[Target], output: Path,
                client: HubClient, planner: Planner, progress: bool = True) -> BundleSummary:
    """Write the bundle of NAMES for ``targets`` from the hub to ``output``."""
    from runtime_env.mirror import target_locks

    specs = [fetch_spec(client, name) for name in names]
    hub_names = planner.hub_names(specs)
    found = [target_locks(planner, specs, t) for t in targets]
    entries: dict[str, tuple[BundleFile, str]] = {}  # path -> (entry, url on the hub)
    for spec in specs:
        _add(entries, _operator_file(client, spec.origin.distribution if spec.origin else
                                     str(spec.distribution), str(spec.version)))
    for locks in found:
        for name, version in _hub_pins(locks, hub_names):
            _add(entries, _operator_file(client, name, version))
        for needed in locks.needed(hub_names):
            _add(entries, _mirrored_file(client, needed, specs))
    manifest = new_manifest(client.url, [s.name for s in specs],
                            [t.target.to_dict() for t in found], _locks(specs, found),
                            [e for e, _ in entries.values()])
    members = [Member(entry, _opener(client, url)) for entry, url in entries.values()]
    total = sum(e["size"] for e, _ in entries.values())
    with byte_bar(total, "bundling", progress) as bar:
        digest = write_bundle(output, manifest, members, bar.update)
    kinds = [e["kind"] for e, _ in entries.values()]
    return BundleSummary(output, kinds.count("operator"), kinds.count("mirror"), total, digest)


def import_bundle(path: Path, client: HubClient, progress: bool = True) -> dict[str, Any]:
    """Verify the bundle at ``path`` whole, then send it to the hub (which verifies it
    again and imports all or nothing); the hub's report."""
    read_bundle(path)
    size = path.stat().st_size
    with open(path, "rb") as handle, byte_bar(size, "importing", progress) as bar:
        return client.import_bundle(Counted(handle, size, bar.update))


def _add(entries: dict[str, tuple[BundleFile, str]], item: tuple[BundleFile, str]) -> None:
    entries.setdefault(item[0]["path"], item)


def _operator_file(client: HubClient, distribution: str, version: str
                   ) -> tuple[BundleFile, str]:
    wheel = client.release_wheel(distribution, version)
    if wheel is None:
        raise BundleError(f"{distribution} {version} is not on the hub at {client.url} (yanked "
                          "or never published); publish it, or bundle another version")
    name = normalize_name(distribution)
    return BundleFile(path=f"operators/{wheel['filename']}", kind="operator", project=name,
                      version=version, filename=str(wheel["filename"]),
                      sha256=str(wheel["sha256"]), size=int(wheel.get("size") or 0),
                      upload_time=None), str(wheel["url"])


def _mirrored_file(client: HubClient, needed: Needed, specs: Sequence[OperatorSpec]
                   ) -> tuple[BundleFile, str]:
    """The hub's mirrored wheel for a pin, best for its target."""
    from runtime_env.mirror import tag_rank, target_flags

    files = [f for f in client.mirrored(needed.name)
             if f["hashes"].get("sha256") in needed.hashes
             and tag_rank(f["filename"], needed.target) is not None]
    if not files:
        names = " ".join(s.name for s in specs)
        raise BundleError(f"{needed.describe()} is not mirrored on the hub at {client.url} for "
                          f"{needed.target.describe()}: run `hub mirror {names} "
                          f"{target_flags(needed.target)}` first")
    best = min(files, key=lambda f: tag_rank(f["filename"], needed.target) or 0)
    return BundleFile(path=f"mirror/{best['filename']}", kind="mirror", project=needed.name,
                      version=needed.version, filename=str(best["filename"]),
                      sha256=str(best["hashes"]["sha256"]), size=int(best.get("size") or 0),
                      upload_time=best.get("upload-time")), str(best["url"])


def _hub_pins(locks: TargetLocks, hub_names: frozenset[str]) -> list[tuple[str, str]]:
    return sorted({(n, v) for lock in locks.locks.values() for n, v in lock.pins
                   if n in hub_names})


def _locks(specs: Sequence[OperatorSpec], found: Sequence[TargetLocks]) -> list[BundleLock]:
    operators = [s.name for s in specs]
    return [BundleLock(operators=operators, target=t.target.to_dict(), role=role,
                       pins=dict(lock.pins), hashes={n: list(h) for n, h in lock.hashes})
            for t in found for role, lock in t.locks.items() if lock.pins]


def _opener(client: HubClient, url: str) -> Callable[[], IO[bytes]]:
    return lambda: client.open_file(url)
