"""The errors runtime_env raises: its own branch of opshub's one error tree.

    hub.HubError
    ├── ResolutionError   (dependency resolution failed)
    │   └── NotMirrored   (offline: the hub's mirror lacks a wheel a lock needs)
    ├── MirrorError       (a locked wheel cannot be mirrored: not found, other bytes)
    │   └── UpstreamError (an upstream source cannot be reached; also a ConnectionError)
    └── PinConflict       (two operators in one env pin a package differently)

They subclass hub's public ``HubError``, so ``except hub.HubError`` (and the CLI's one
clean line) still catches them; ``hub`` re-exports them lazily (``hub.ResolutionError``)
without importing runtime_env until one is asked for. Every message names the thing, the
rule that failed and the fix.
"""

from __future__ import annotations

from collections.abc import Sequence

from hub import HubError


class ResolutionError(HubError):
    """Raised when a resolver (pip-compile, uv) cannot lock an operator's requirements."""

    def __init__(
        self, message: str, command: Sequence[str] = (), returncode: int | None = None,
        stderr: str = "",
    ) -> None:
        self.command = list(command)
        self.returncode = returncode
        self.stderr = stderr
        super().__init__(message)


class NotMirrored(ResolutionError):
    """Raised in offline mode when the hub's mirror lacks a wheel the operators need: the
    hub is the only index, so the fix is to mirror them on a connected machine."""

    def __init__(self, package: str | None, target: str, operators: Sequence[str],
                 hub_url: str, fix_flags: str, detail: str = "") -> None:
        self.package = package
        self.target = target
        self.operators = list(operators)
        names = " ".join(self.operators) or "NAME"
        what = f"{package} is not mirrored" if package else "a wheel they need is not mirrored"
        because = f" ({detail})" if detail and not package else ""
        super().__init__(
            f"offline: {what} on the hub at {hub_url} for {target}{because}, which is the only "
            f"index (HUB_OFFLINE) — on a connected machine run `hub mirror {names} "
            f"{fix_flags}` (then `hub bundle`/`hub import` if that hub is not this one)")


class MirrorError(HubError):
    """Raised when `hub mirror` cannot copy a locked wheel: no source offers it, or the
    bytes a source serves are not the ones the lock pinned."""


class UpstreamError(MirrorError, ConnectionError):
    """Raised when `hub mirror` cannot fetch a wheel from an upstream source (PyPI, an
    extra index): not the hub, so not a :class:`~hub.HubConnectionError`; ``url`` names
    the file."""

    def __init__(self, message: str, url: str) -> None:
        self.url = url
        super().__init__(message)


class PinConflict(HubError):
    """Raised when operators that must share one env pin a package at different versions.

    Each pin is ``(operator, version)``, or ``(operator, specifier)`` such as ``">=2"``.
    """

    def __init__(self, package: str, pins: Sequence[tuple[str, str]],
                 fix: str = "run them in separate stages (each gets its own env) or align "
                            "the pins") -> None:
        self.package = package
        self.pins = list(pins)
        who = " but ".join(f"operator {op!r} pins {package}{_specifier(v)}"
                           for op, v in self.pins)
        super().__init__(f"{who}; they cannot share one env — {fix}")


def _specifier(pin: str) -> str:
    return pin if pin[:1] in "=<>!~" else f"=={pin}"
