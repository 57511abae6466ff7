"""`hub publish`: build wheels from project folders, validate them as the hub will, upload.

Every path is built and validated before the first upload, so a bad project in
``hub publish operators/*`` publishes nothing rather than half of the set.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ._exceptions import InvalidDistribution
from ._tools import find_uv, run

if TYPE_CHECKING:
    from ._dist import WheelInfo
    from .client import HubClient

PROJECT_FILES = ("pyproject.toml", "setup.py")


@dataclass(frozen=True)
class Published:
    """One wheel `hub publish` handled: ``published``, or ``skipped`` (already there)."""

    name: str
    version: str
    filename: str
    operators: tuple[str, ...]
    status: Literal["published", "skipped"]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "filename": self.filename,
                "operators": list(self.operators), "status": self.status}


def publish(
    paths: Sequence[Path],
    client: HubClient,
    *,
    skip_existing: bool = False,
    progress: bool = True,
    on_build: Callable[[Path], None] | None = None,
) -> list[Published]:
    """Build (project folders) and validate every path, then upload each wheel."""
    with tempfile.TemporaryDirectory(prefix="hub-publish-") as tmp:
        wheels = [_wheel_for(Path(p), Path(tmp), on_build) for p in paths]
        infos = [_validate(w) for w in wheels]
        return [_upload(client, w, i, skip_existing, progress) for w, i in zip(wheels, infos)]


def _wheel_for(path: Path, tmp: Path, on_build: Callable[[Path], None] | None) -> Path:
    if path.is_file() and path.suffix == ".whl":
        return path
    if path.is_dir() and any((path / f).exists() for f in PROJECT_FILES):
        if on_build:
            on_build(path)
        return build_wheel(path, Path(tempfile.mkdtemp(dir=tmp)))
    if not path.exists():
        raise InvalidDistribution(f"{path} does not exist — give a project folder or a .whl")
    raise InvalidDistribution(
        f"{path} is neither a wheel (.whl) nor a project folder (with pyproject.toml or "
        "setup.py) — the hub takes wheels only; build one or point at the project folder"
    )


def build_wheel(project: Path, out_dir: Path) -> Path:
    """Build one wheel of ``project`` into ``out_dir`` (uv build, else python -m build)."""
    command = [*_build_command(), str(project.resolve()), "--wheel", "-o", str(out_dir)]
    run(f"building a wheel of {project}", command)
    wheels = sorted(out_dir.glob("*.whl"))
    if len(wheels) != 1:
        raise InvalidDistribution(f"building {project} gave {len(wheels)} wheels, expected 1")
    return wheels[0]


def _build_command() -> list[str]:
    uv = find_uv()
    if uv:
        return [uv, "build", "--quiet"]
    return [sys.executable, "-m", "build"]  # both take `-o DIR`


def _validate(wheel: Path) -> WheelInfo:
    from ._dist import inspect_wheel

    return inspect_wheel(wheel)  # the server's own rules, before any byte is sent


def _upload(
    client: HubClient, wheel: Path, info: WheelInfo, skip_existing: bool, progress: bool
) -> Published:
    uploaded = client.upload(wheel, progress=progress, skip_existing=skip_existing, info=info)
    operators = tuple(str(op.get("name")) for op in info.operators)
    return Published(info.name, info.version, info.filename, operators,
                     "published" if uploaded else "skipped")
