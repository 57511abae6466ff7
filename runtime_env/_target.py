"""The Python version and platform a lock is made for (the cluster's, not always the driver's)."""

from __future__ import annotations

import platform as _platform
import sys
from dataclasses import dataclass

from hub._exceptions import ConfigError

# sys.platform -> uv's --python-platform for a given machine
_UV_PLATFORMS = {
    ("linux", "x86_64"): "x86_64-manylinux_2_28",
    ("linux", "aarch64"): "aarch64-manylinux_2_28",
    ("darwin", "x86_64"): "x86_64-apple-darwin",
    ("darwin", "arm64"): "aarch64-apple-darwin",
    ("win32", "AMD64"): "x86_64-pc-windows-msvc",
}


@dataclass(frozen=True)
class Target:
    """Where the lock will be installed: ``Target("3.11", "linux", "x86_64")``."""

    python_version: str
    platform: str = "linux"
    machine: str = "x86_64"

    def __post_init__(self) -> None:
        parts = self.python_version.split(".")
        if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts):
            raise ConfigError(
                f"target python version {self.python_version!r} must look like '3.11' or "
                "'3.11.7'"
            )

    @classmethod
    def current(cls) -> Target:
        """The driver's own interpreter and platform."""
        return cls(_platform.python_version(), sys.platform, _platform.machine())

    @property
    def minor(self) -> str:
        """``3.11`` from ``3.11.7``."""
        return ".".join(self.python_version.split(".")[:2])

    @property
    def uv_platform(self) -> str:
        """The value for ``uv pip compile --python-platform``."""
        try:
            return _UV_PLATFORMS[(self.platform, self.machine)]
        except KeyError:
            raise ConfigError(
                f"target platform {self.platform}/{self.machine} is not one uv can lock for; "
                f"use one of {sorted(_UV_PLATFORMS)}"
            ) from None

    def is_current(self) -> bool:
        """Whether this is the driver's interpreter (pip-compile can only lock for that)."""
        here = Target.current()
        return (self.minor, self.platform, self.machine) == (here.minor, here.platform,
                                                              here.machine)

    def marker_environment(self) -> dict[str, str]:
        """PEP 508 marker variables for this target (others taken from the driver)."""
        from packaging.markers import default_environment

        env: dict[str, str] = {k: str(v) for k, v in default_environment().items()}
        full = self.python_version if self.python_version.count(".") == 2 else self.minor + ".0"
        env.update(python_version=self.minor, python_full_version=full,
                   sys_platform=self.platform, platform_machine=self.machine)
        env["platform_system"] = {"linux": "Linux", "darwin": "Darwin",
                                  "win32": "Windows"}.get(self.platform, self.platform)
        return env

    def to_dict(self) -> dict[str, str]:
        return {"python": self.python_version, "platform": self.platform,
                "machine": self.machine}
