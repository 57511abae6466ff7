"""Resolvers behind one interface: ``resolve(request)`` gives a hash-pinned :class:`Lock`.

Neither pip-tools nor uv has a Python API, so both run as subprocesses through an
injectable *runner* (tests pass one that fails to prove a warm lookup never resolves).
Both get the same sources (:class:`Sources`) as explicit options and nothing else (their
config files and index variables off: ``installer_env``, ``--no-config``), constraints,
preferences (an existing output file, which both keep pins from) and cooldown; both emit
sha256 hashes, and uv the index each pin came from.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import ClassVar

from hub import ConfigError

from ._errors import ResolutionError
from ._lock import Lock, parse_requirements_output
from ._node_builder import installer_env
from ._request import LockRequest
from ._requirements import SELF, installed_version
from ._target import Target

Runner = Callable[[list[str]], "subprocess.CompletedProcess[str]"]


def run(command: list[str]) -> subprocess.CompletedProcess[str]:
    """Run a resolver command, capturing its output (the default runner), with no package
    source but its options."""
    env = {**installer_env(), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=600,
                          check=False)


class Resolver:
    """Locks requirements into exact, hashed pins; subclasses give the command line."""

    name: ClassVar[str] = ""
    distribution: ClassVar[str] = ""

    def __init__(self, runner: Runner = run) -> None:
        self.runner = runner

    @property
    def version(self) -> str:
        """The resolver's version, from metadata (no subprocess: it is part of the cache key)."""
        return installed_version(self.distribution) or "unknown"

    def resolve(self, request: LockRequest) -> Lock:
        """Pins (with sha256 hashes) for ``request``."""
        if not request.requirements:
            return Lock(resolver=self.name, indexes=request.indexes)
        with tempfile.TemporaryDirectory(prefix="opshub-lock-") as scratch:
            tmp = Path(scratch)
            command = self._command(tmp, request, _write_inputs(tmp, request))
            self._run(command)
            text = (tmp / "lock.txt").read_text()
        pins, hashes, origins = parse_requirements_output(text, command)
        return Lock.from_pins(pins, hashes=hashes, resolver=self.name, indexes=request.indexes,
                              origins=origins)

    def _run(self, command: list[str]) -> subprocess.CompletedProcess[str]:
        try:
            done = self.runner(command)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ResolutionError(f"{self.name} could not run: {exc}", command) from None
        if done.returncode != 0:
            raise _failure(self.name, command, done)
        return done

    def _command(self, tmp: Path, request: LockRequest, inputs: Inputs) -> list[str]:
        raise NotImplementedError


class UvResolver(Resolver):
    """``uv pip compile``: fast, and locks for another Python/platform."""

    name = "uv"
    distribution = "uv"

    def _command(self, tmp: Path, request: LockRequest, inputs: Inputs) -> list[str]:
        from uv import find_uv_bin

        target = request.target
        # uv searches the hub first (Sources.uv_args) and notes where each pin came from
        # (--emit-index-annotation): a hub name from another index is refused (_locking).
        # opshub reaches the nodes through py_modules, never an index: an override with a
        # marker that never holds drops it from operators that depend on it (uv's way).
        overrides = tmp / "overrides.txt"
        overrides.write_text("".join(f"{n}; python_version < '0'\n" for n in sorted(SELF)))
        return [find_uv_bin(), "pip", "compile", str(inputs.requirements), "--no-config",
                "-c", str(inputs.constraints), "--override", str(overrides),
                "--output-file", str(inputs.output), "--quiet", "--no-header",
                "--no-annotate", "--emit-index-annotation", "--generate-hashes",
                # resolve with this interpreter for any target: uv would otherwise look
                # for (and download) a CPython of the target's version it does not need
                "--python", sys.executable, "--python-version", target.python_version,
                "--python-platform", target.uv_platform, *request.sources.uv_args(),
                *_uv_cooldown(request)]


class PipToolsResolver(Resolver):
    """``pip-compile``: the reference resolver; only locks for the driver's interpreter.

    The hub is never one of its indexes (pip ranks every index alike, pip#8606): a hub
    name in the requirements or the lock is refused by the caller (see ``_locking``).
    """

    name = "pip-tools"
    distribution = "pip-tools"

    def _command(self, tmp: Path, request: LockRequest, inputs: Inputs) -> list[str]:
        target = request.target
        if not target.is_current():
            raise ConfigError(
                f"pip-tools can only lock for the driver's Python ({Target.current().minor}, "
                f"{sys.platform}), not {target.minor}/{target.platform}; use --resolver uv"
            )
        with inputs.requirements.open("a") as f:
            f.write(f"-c {inputs.constraints}\n")
        # --allow-unsafe: pin setuptools & co. as uv does (pip-tools' announced default),
        # so both resolvers give the same pins.
        return [sys.executable, "-m", "piptools", "compile", str(inputs.requirements),
                "--no-config", "--quiet", "--no-header", "--no-annotate", "--strip-extras",
                "--no-emit-index-url", "--no-emit-find-links", "--allow-unsafe",
                "--generate-hashes", "--output-file", str(inputs.output),
                *request.sources.pip_args(), *_pip_cooldown(request)]


RESOLVERS: dict[str, type[Resolver]] = {"uv": UvResolver, "pip-tools": PipToolsResolver}
DEFAULT_RESOLVER = "uv"


def get_resolver(name: str | None = None, runner: Runner = run) -> Resolver:
    """A resolver by name (``uv`` by default; see benchmarks/resolution.py)."""
    name = name or DEFAULT_RESOLVER
    if name not in RESOLVERS:
        raise ConfigError(f"resolver {name!r} is unknown; use one of {sorted(RESOLVERS)}")
    return RESOLVERS[name](runner)


class Inputs:
    """The files a resolver reads: requirements, constraints, and the output file whose
    existing pins (the preferences) both resolvers keep when the requirements allow."""

    def __init__(self, tmp: Path) -> None:
        self.requirements = tmp / "requirements.in"
        self.constraints = tmp / "constraints.txt"
        self.output = tmp / "lock.txt"


def _write_inputs(tmp: Path, request: LockRequest) -> Inputs:
    inputs = Inputs(tmp)
    inputs.requirements.write_text("".join(f"{r}\n" for r in request.requirements))
    inputs.constraints.write_text(_pin_lines(request.constraints))
    inputs.output.write_text(_pin_lines(request.preferences))
    return inputs


def _pin_lines(pins: Sequence[tuple[str, str]]) -> str:
    return "".join(f"{n}=={v}\n" for n, v in pins)


def _uv_cooldown(request: LockRequest) -> list[str]:
    cooldown = request.cooldown
    if cooldown is None:
        return []
    spared = sorted({*cooldown.exceptions, *request.spared})
    return ["--exclude-newer", cooldown.stamp(),
            *(o for name in spared for o in ("--exclude-newer-package", f"{name}=false"))]


def _pip_cooldown(request: LockRequest) -> list[str]:
    cooldown = request.cooldown
    if cooldown is None:
        return []
    if cooldown.exceptions:
        raise ConfigError(
            f"pip-tools cannot spare {', '.join(cooldown.exceptions)} from lock-exclude-newer "
            "(pip's --uploaded-prior-to has no per-package form); use --resolver uv, or drop "
            "lock-exclude-newer-exceptions")
    return ["--pip-args", f"--uploaded-prior-to={cooldown.stamp()}"]


def _failure(name: str, command: list[str], done: subprocess.CompletedProcess[str]
             ) -> ResolutionError:
    lines = [ln for ln in (done.stderr or done.stdout or "").strip().splitlines() if ln.strip()]
    tail = " | ".join(ln.strip() for ln in lines[-6:]) or "no output"
    return ResolutionError(
        f"{name} could not resolve the requirements (exit {done.returncode}): {tail} — "
        "check the package names and pins, and that the indexes are reachable "
        f"(command: {' '.join(command)})",
        command, done.returncode, done.stderr or "")
