"""The errors opshub raises.

    HubError
    ├── OperatorNotFound      (also a KeyError)
    ├── OperatorConflict
    ├── OperatorBroken
    ├── OperatorLoadError     (also an ImportError)
    │   └── OperatorNotLocal  (a hub operator used where it is not installed)
    ├── InvalidOperator       (also a ValueError)
    ├── ConfigError           (also a ValueError)
    ├── HubConnectionError    (also a ConnectionError)
    ├── InvalidDistribution   (also a ValueError)
    ├── HubResponseError
    │   └── ProjectNotFound   (also a KeyError)
    ├── StorageError          (the hub's storage folder cannot be used)
    │   └── CorruptDatabase   (its SQLite index is damaged; `hub admin recover` rebuilds it)
    ├── CommandFailed
    ├── ResolutionError       (dependency resolution failed)
    │   └── NotMirrored       (offline: the hub's mirror lacks a wheel a lock needs)
    ├── MirrorError           (a locked wheel cannot be mirrored: not found, other bytes)
    │   └── UpstreamError     (an upstream source cannot be reached; also a ConnectionError)
    ├── BundleError           (a bundle is refused whole: `hub bundle` / `hub import`)
    ├── PinConflict           (two operators in one env pin a package differently)
    ├── PipelineError         (a pipeline stage cannot run)
    │   └── ItemError         (one item failed with on_error="raise")
    └── ScaffoldError         (`hub new` cannot create the project; also a ValueError)

Every message names the thing, the rule that failed and the fix.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


class HubError(Exception):
    """Base class of every error opshub raises on purpose."""


class OperatorNotFound(HubError, KeyError):
    """Raised when no installed distribution registers an operator of that name."""

    def __init__(self, name: str, suggestions: Sequence[str] = (), hub: str | None = None
                 ) -> None:
        self.name = name
        self.suggestions = list(suggestions)
        self.hub = hub
        hint = ""
        if self.suggestions:
            hint = " — did you mean " + ", ".join(repr(s) for s in self.suggestions) + "?"
        target = self.suggestions[0] if len(self.suggestions) == 1 else name
        asked = f" nor found on the hub at {hub}" if hub else ""
        super().__init__(
            f"operator {name!r} is not installed{asked}{hint} Run `hub install {target}`."
        )

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


class OperatorConflict(HubError):
    """Raised when two or more distributions register the same operator name."""

    def __init__(self, name: str, distributions: Sequence[str]) -> None:
        self.name = name
        self.distributions = list(distributions)
        dists = " and ".join(self.distributions)
        super().__init__(
            f"operator {name!r} is registered by {dists}; uninstall one of them or "
            f"disable one with HUB_DISABLE_OPERATORS={self.distributions[-1]}"
        )


class OperatorBroken(HubError):
    """Raised when the plugin that registers an operator failed to load."""

    def __init__(self, name: str, distribution: str, error: str) -> None:
        self.name = name
        self.distribution = distribution
        self.error = error
        super().__init__(
            f"operator {name!r} from {distribution} is broken: {error} "
            f"(reinstall it with `hub install {distribution}`)"
        )


class OperatorLoadError(HubError, ImportError):
    """Raised when an operator's implementation cannot be imported at first use."""

    def __init__(self, name: str, target: str, cause: BaseException) -> None:
        self.name = name
        self.target = target
        self.cause = cause
        super().__init__(
            f"operator {name!r} could not load {target}: "
            f"{type(cause).__name__}: {cause}"
        )


class OperatorNotLocal(OperatorLoadError):
    """Raised when an operator fetched from the hub is built where it is not installed
    (the driver, on the local or thread backend): it runs on Ray stages, in its own env."""

    def __init__(self, name: str, target: str, hub_url: str, distribution: str, version: str,
                 installed: str | None = None) -> None:
        self.name = name
        self.target = target
        self.cause = ModuleNotFoundError(f"{distribution} {version} is not installed")
        self.hub_url = hub_url
        self.distribution = distribution
        self.version = version
        self.installed = installed
        here = f" ({distribution} {installed} is installed here)" if installed else ""
        Exception.__init__(
            self,
            f"operator {name!r} came from the hub at {hub_url} ({distribution} {version}) and "
            f"is not installed here{here}: it runs only on Ray stages (backend='ray'); to run "
            f"it locally, `hub install {distribution}=={version}`",
        )


class InvalidOperator(HubError, ValueError):
    """Raised when an operator registration breaks the operator contract."""


class ConfigError(HubError, ValueError):
    """Raised when a setting (environment variable or config file) is invalid."""


class HubConnectionError(HubError, ConnectionError):
    """Raised when the hub server cannot be reached or answers with an error."""

    def __init__(self, message: str, url: str) -> None:
        self.url = url
        super().__init__(message)


class InvalidDistribution(HubError, ValueError):
    """Raised when a wheel breaks a hub rule (name, filename, archive, metadata, operators)."""


class HubResponseError(HubError):
    """Raised when the hub answers a request with an HTTP error status."""

    def __init__(self, message: str, url: str, status: int) -> None:
        self.url = url
        self.status = status
        super().__init__(message)


class ProjectNotFound(HubResponseError, KeyError):
    """Raised when the hub has no project (distribution) of that name."""

    def __init__(self, name: str, url: str, suggestions: Sequence[str] = ()) -> None:
        self.name = name
        self.suggestions = list(suggestions)
        hint = ""
        if self.suggestions:
            hint = " — did you mean " + ", ".join(repr(s) for s in self.suggestions) + "?"
        super().__init__(
            f"no project {name!r} on the hub at {url}{hint} "
            f"Look with `hub search {name}`.", url, 404,
        )

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


class StorageError(HubError):
    """Raised when the hub's storage folder cannot be used (not writable, not a folder)."""

    def __init__(self, message: str, root: Path) -> None:
        self.root = root
        super().__init__(message)


class CorruptDatabase(StorageError):
    """Raised when the storage's SQLite index cannot be read; its files are intact."""

    def __init__(self, root: Path, error: str) -> None:
        self.error = error
        super().__init__(
            f"the hub's database in {root} is damaged ({error}); run `hub admin recover "
            f"--storage {root}` (or start `hub serve`): it keeps the damaged copy in "
            "quarantine/ and rebuilds the index from files/ and the journal", root,
        )


class CommandFailed(HubError):
    """Raised when an external command (a wheel build, uv or pip) exits with an error."""

    def __init__(self, what: str, command: Sequence[str], returncode: int, stderr: str) -> None:
        self.command = list(command)
        self.returncode = returncode
        self.stderr = stderr
        lines = [line.strip() for line in stderr.splitlines() if line.strip()]
        tail = "; ".join(lines[-5:]) or "no output"
        super().__init__(
            f"{what} failed (exit {returncode}): {tail} — command: {' '.join(self.command)}"
        )


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
    extra index): not the hub, so not a :class:`HubConnectionError`; ``url`` names the
    file."""

    def __init__(self, message: str, url: str) -> None:
        self.url = url
        super().__init__(message)


class BundleError(HubError):
    """Raised when a bundle cannot be made, or is refused whole by `hub import`."""


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


class PipelineError(HubError):
    """Raised when a pipeline stage cannot run (its workers cannot start or keep dying)."""


class ItemError(PipelineError):
    """Raised when one item fails in a stage whose error policy is ``on_error="raise"``."""

    def __init__(self, stage: str, index: int, item: object, error: str) -> None:
        self.stage = stage
        self.index = index
        self.item = item
        self.error = error
        shown = repr(item)
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        super().__init__(
            f"{stage} failed on item {index} ({shown}): {error} — fix the operator or the "
            "item, or pass on_error='skip' or on_error='collect' to keep going"
        )


class ScaffoldError(HubError, ValueError):
    """Raised when `hub new` cannot create a project: a bad name, or a folder in the way."""
