"""The Python, platform and accelerator a lock is made for (the stage's nodes', probed)."""

from __future__ import annotations

import platform as _platform
import re
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hub import ConfigError

if TYPE_CHECKING:
    from packaging.tags import Tag

CPU = "cpu"
_CUDA = re.compile(r"^cu(\d+)(\d)\Z")  # PyTorch's labels: cu121 is CUDA 12.1, cu130 13.0

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
    accelerator: str = CPU  # "cpu", or "cuXY" with the CUDA version the node's driver runs

    def __post_init__(self) -> None:
        object.__setattr__(self, "accelerator", parse_accelerator(self.accelerator))
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
    def cuda(self) -> tuple[int, int] | None:
        """``(12, 1)`` for ``cu121``; None on a CPU target."""
        return cuda_version(self.accelerator)

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

    def wheel_tags(self) -> list[Tag]:
        """The wheel tags an installer on this target takes, best first (as uv locks it:
        glibc 2.28, see ``uv_platform``)."""
        from packaging import tags

        version = (int(self.minor.split(".")[0]), int(self.minor.split(".")[1]))
        platforms = _platform_tags(self.platform, self.machine)
        interpreter = f"cp{version[0]}{version[1]}"
        return [*tags.cpython_tags(version, platforms=platforms),
                *tags.compatible_tags(version, interpreter, platforms)]

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

    def describe(self) -> str:
        """``Python 3.11.9 linux/x86_64, cpu``: how `hub env` names the target."""
        return f"Python {self.python_version} {self.platform}/{self.machine}, {self.accelerator}"

    def to_dict(self) -> dict[str, str]:
        return {"python": self.python_version, "platform": self.platform,
                "machine": self.machine, "accelerator": self.accelerator}


def target_flags(target: Target) -> str:
    """The options of `hub mirror`, `hub lock` and `hub bundle` that name ``target``."""
    return (f"--python {target.python_version} --platform {target.platform}/{target.machine} "
            f"--accelerator {target.accelerator}")


def parse_platform(text: str, machine: str | None = None) -> tuple[str, str]:
    """``linux`` or ``linux/aarch64`` -> (sys.platform, machine); the machine defaults to
    this one's."""
    platform, _, given = text.strip().partition("/")
    if not platform:
        raise ConfigError(f"platform {text!r} must be a sys.platform such as 'linux', "
                          "optionally with a machine: 'linux/aarch64'")
    return platform, given or machine or _platform.machine()


_LEGACY_MANYLINUX = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}


def _platform_tags(platform: str, machine: str) -> list[str]:
    """Platform tags for a target, best first (glibc 2.28 down, as ``uv_platform``)."""
    if platform == "linux":
        found = []
        for minor in range(28, 4, -1):
            found.append(f"manylinux_2_{minor}_{machine}")
            if minor in _LEGACY_MANYLINUX:
                found.append(f"{_LEGACY_MANYLINUX[minor]}_{machine}")
        return [*found, f"linux_{machine}"]
    if platform == "darwin":
        from packaging.tags import mac_platforms

        return list(mac_platforms((13, 0), "arm64" if machine == "arm64" else "x86_64"))
    return [{"AMD64": "win_amd64", "ARM64": "win_arm64"}.get(machine, machine.lower())]


def parse_accelerator(text: str) -> str:
    """``cpu`` or ``cuXY``, from ``cpu``, ``cu121``, ``cuda12.1`` or ``12.1``."""
    value = text.strip().lower().removeprefix("cuda")
    if value == CPU:
        return CPU
    match = re.fullmatch(r"(\d+)\.(\d)", value)
    if match:
        return f"cu{match.group(1)}{match.group(2)}"
    if _CUDA.match(value):
        return value
    raise ConfigError(f"accelerator {text!r} must be 'cpu' or a CUDA version such as 'cu121' "
                      "or '12.1' (the newest CUDA the node's driver supports)")


def cuda_version(label: str) -> tuple[int, int] | None:
    """The CUDA version of a PyTorch build label (``cu128`` -> (12, 8)), else None."""
    match = _CUDA.match(label)
    return (int(match.group(1)), int(match.group(2))) if match else None
