"""The errors opshub raises.

    HubError
    ├── OperatorNotFound      (also a KeyError)
    ├── OperatorConflict
    ├── OperatorBroken
    ├── OperatorLoadError     (also an ImportError)
    ├── InvalidOperator       (also a ValueError)
    ├── ConfigError           (also a ValueError)
    └── HubConnectionError    (also a ConnectionError)

Every message names the thing, the rule that failed and the fix.
"""

from __future__ import annotations

from collections.abc import Sequence


class HubError(Exception):
    """Base class of every error opshub raises on purpose."""


class OperatorNotFound(HubError, KeyError):
    """Raised when no installed distribution registers an operator of that name."""

    def __init__(self, name: str, suggestions: Sequence[str] = ()) -> None:
        self.name = name
        self.suggestions = list(suggestions)
        hint = ""
        if self.suggestions:
            hint = " — did you mean " + ", ".join(repr(s) for s in self.suggestions) + "?"
        target = self.suggestions[0] if len(self.suggestions) == 1 else name
        super().__init__(
            f"operator {name!r} is not installed{hint} Run `hub install {target}`."
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


class InvalidOperator(HubError, ValueError):
    """Raised when an operator registration breaks the operator contract."""


class ConfigError(HubError, ValueError):
    """Raised when a setting (environment variable or config file) is invalid."""


class HubConnectionError(HubError, ConnectionError):
    """Raised when the hub server cannot be reached or answers with an error."""

    def __init__(self, message: str, url: str) -> None:
        self.url = url
        super().__init__(message)
