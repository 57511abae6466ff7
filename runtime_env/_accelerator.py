"""Which build of the torch family a lock holds, and whether the target's nodes can use it.

PyTorch publishes one build per accelerator, told apart by the local version label
(``2.13.0+cpu``, ``2.13.0+cu121``); PyPI's unlabelled Linux wheels are CUDA builds that
pull ``nvidia-*``/``cuda-*`` packages (issue #10: a CPU node got 18 of them). A lock for
a CPU target must hold CPU builds; for a CUDA target, builds of a CUDA version the node's
driver runs (not newer; pytorch/ci-infra#661 shows the silent CPU fallback the other way).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from packaging.version import Version

from ._lock import Lock
from ._target import CPU, Target, cuda_version

# Packages published as one build per accelerator (PyTorch's own indexes).
ACCELERATED = ("torch", "torchvision", "torchaudio")
_GPU_PACKAGE = re.compile(r"^(nvidia-|cuda-)")
# Pins that tell which CUDA an unlabelled build was made for: cu12's and cu13's names.
_CUDA_RUNTIME = re.compile(r"^(nvidia-cuda-runtime(-cu\d+)?|cuda-toolkit)\Z")


@dataclass(frozen=True)
class Misfit:
    """A pin whose build the target cannot use, and the build it is."""

    package: str
    version: str
    build: str  # "cpu", "cu128", or "cuda" when the CUDA version is unknown


def build_of(version: str, lock: Lock) -> str:
    """The accelerator of a pinned torch-family build: its label, else what it pulls in."""
    local = Version(version).local
    if local:
        return local.lower().split(".")[0]
    gpu = [(n, v) for n, v in lock.pins if _GPU_PACKAGE.match(n)]
    if not gpu:
        return CPU
    runtime = [v for n, v in gpu if _CUDA_RUNTIME.match(n)]
    if runtime:
        major, minor = Version(runtime[0]).release[:2]
        return f"cu{major}{minor}"
    return "cuda"


def runs_on(build: str, target: Target) -> bool:
    """Whether a build is the right one for the target's nodes."""
    if target.accelerator == CPU:
        return build == CPU
    found, wanted = cuda_version(build), target.cuda
    return found is not None and wanted is not None and found <= wanted


def misfits(lock: Lock, target: Target) -> list[Misfit]:
    """The torch-family pins of ``lock`` whose build the target cannot use."""
    pins = lock.as_dict
    found = [Misfit(p, pins[p], build_of(pins[p], lock)) for p in ACCELERATED if p in pins]
    return [m for m in found if not runs_on(m.build, target)]


def candidates(misfit: Misfit, builds: Sequence[Version], target: Target) -> list[str]:
    """Builds to pin instead, best first: the same release for the target if there is one,
    then older releases (never newer than the resolver chose), newest CUDA first."""
    ceiling = Version(misfit.version).public
    fitting = [b for b in builds if b.local and runs_on(b.local.lower(), target)
               and Version(b.public) <= Version(ceiling)]
    fitting.sort(key=lambda b: (Version(b.public), cuda_version(str(b.local)) or (0, 0)),
                 reverse=True)
    return [str(b) for b in fitting]
