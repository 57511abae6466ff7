"""Resolvers behind one interface: ``resolve(requirements, constraints, target, indexes)``.

Neither pip-tools nor uv has a Python API, so both run as subprocesses through an
injectable *runner* (tests pass one that fails to prove a warm lookup never resolves).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import ClassVar

from hub._exceptions import ConfigError, ResolutionError

from ._lock import Lock, parse_requirements_output
from ._requirements import installed_version
from ._target import Target

PYPI = "https://pypi.org/simple/"
Runner = Callable[[list[str]], "subprocess.CompletedProcess[str]"]


def run(command: list[str]) -> subprocess.CompletedProcess[str]:
    """Run a resolver command, capturing its output (the default runner)."""
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=600,
                          check=False)


class Resolver:
    """Locks requirements into exact pins; subclasses give the command line."""

    name: ClassVar[str] = ""
    distribution: ClassVar[str] = ""

    def __init__(self, runner: Runner = run) -> None:
        self.runner = runner

    @property
    def version(self) -> str:
        """The resolver's version, from metadata (no subprocess: it is part of the cache key)."""
        return installed_version(self.distribution) or "unknown"

    def resolve(self, requirements: Sequence[str], constraints: Mapping[str, str],
                target: Target, indexes: Sequence[str]) -> Lock:
        """Pins for ``requirements`` under ``constraints`` (name -> version) for ``target``."""
        if not requirements:
            return Lock(resolver=self.name, indexes=tuple(indexes))
        with tempfile.TemporaryDirectory(prefix="opshub-lock-") as tmp:
            command = self._command(Path(tmp), requirements, constraints, target, indexes)
            done = self._run(command)
            text = self._output(Path(tmp), done)
        pins = parse_requirements_output(text, command)
        return Lock.from_pins(pins, resolver=self.name, indexes=tuple(indexes))

    def _run(self, command: list[str]) -> subprocess.CompletedProcess[str]:
        try:
            done = self.runner(command)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ResolutionError(f"{self.name} could not run: {exc}", command) from None
        if done.returncode != 0:
            raise _failure(self.name, command, done)
        return done

    def _command(self, tmp: Path, requirements: Sequence[str], constraints: Mapping[str, str],
                 target: Target, indexes: Sequence[str]) -> list[str]:
        raise NotImplementedError

    def _output(self, tmp: Path, done: subprocess.CompletedProcess[str]) -> str:
        return done.stdout


class UvResolver(Resolver):
    """``uv pip compile``: fast, and locks for another Python/platform."""

    name = "uv"
    distribution = "uv"

    def _command(self, tmp: Path, requirements: Sequence[str], constraints: Mapping[str, str],
                 target: Target, indexes: Sequence[str]) -> list[str]:
        from uv import find_uv_bin

        req, con = _write_inputs(tmp, requirements, constraints)
        # uv searches --index entries in order before --default-index, stopping at the
        # first index that has the name (no dependency confusion): hub first, PyPI last.
        index_opts = [o for url in indexes[:-1] for o in ("--index", url)]
        return [find_uv_bin(), "pip", "compile", str(req), "-c", str(con), "--quiet",
                "--no-header", "--no-annotate", "--python-version", target.python_version,
                "--python-platform", target.uv_platform, *index_opts,
                "--default-index", indexes[-1]]


class PipToolsResolver(Resolver):
    """``pip-compile``: the reference resolver; only locks for the driver's interpreter."""

    name = "pip-tools"
    distribution = "pip-tools"

    def _command(self, tmp: Path, requirements: Sequence[str], constraints: Mapping[str, str],
                 target: Target, indexes: Sequence[str]) -> list[str]:
        if not target.is_current():
            raise ConfigError(
                f"pip-tools can only lock for the driver's Python ({Target.current().minor}, "
                f"{sys.platform}), not {target.minor}/{target.platform}; use --resolver uv"
            )
        req, con = _write_inputs(tmp, requirements, constraints)
        with req.open("a") as f:
            f.write(f"-c {con}\n")
        extra = [o for url in indexes[:-1] for o in ("--extra-index-url", url)]
        # --allow-unsafe: pin setuptools & co. as uv does (pip-tools' announced default),
        # so both resolvers give the same pins.
        return [sys.executable, "-m", "piptools", "compile", str(req), "--quiet",
                "--no-header", "--no-annotate", "--strip-extras", "--no-emit-index-url",
                "--allow-unsafe",
                "--output-file", str(tmp / "lock.txt"), "--index-url", indexes[-1], *extra]

    def _output(self, tmp: Path, done: subprocess.CompletedProcess[str]) -> str:
        return (tmp / "lock.txt").read_text()


RESOLVERS: dict[str, type[Resolver]] = {"uv": UvResolver, "pip-tools": PipToolsResolver}
DEFAULT_RESOLVER = "uv"


def get_resolver(name: str | None = None, runner: Runner = run) -> Resolver:
    """A resolver by name (``uv`` by default; see benchmarks/resolution.py)."""
    name = name or DEFAULT_RESOLVER
    if name not in RESOLVERS:
        raise ConfigError(f"resolver {name!r} is unknown; use one of {sorted(RESOLVERS)}")
    return RESOLVERS[name](runner)


def _write_inputs(tmp: Path, requirements: Sequence[str],
                  constraints: Mapping[str, str]) -> tuple[Path, Path]:
    req, con = tmp / "requirements.in", tmp / "constraints.txt"
    req.write_text("".join(f"{r}\n" for r in requirements))
    con.write_text("".join(f"{n}=={v}\n" for n, v in sorted(constraints.items())))
    return req, con


def _failure(name: str, command: list[str], done: subprocess.CompletedProcess[str]
             ) -> ResolutionError:
    lines = [ln for ln in (done.stderr or done.stdout or "").strip().splitlines() if ln.strip()]
    tail = " | ".join(ln.strip() for ln in lines[-6:]) or "no output"
    return ResolutionError(
        f"{name} could not resolve the requirements (exit {done.returncode}): {tail} — "
        "check the package names and pins, and that the indexes are reachable "
        f"(command: {' '.join(command)})",
        command, done.returncode, done.stderr or "")
