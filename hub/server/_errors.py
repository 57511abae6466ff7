"""Errors of the hub server; each carries the HTTP status it answers with.

    HubError
    └── RequestRejected        a 4xx answer with a one-line reason
        ├── FileExistsConflict a filename already holds different bytes (409)
        └── NameTaken          a name is the other kind of project: operator or mirrored (409)
"""

from __future__ import annotations

from .._exceptions import HubError


class RequestRejected(HubError):
    """Raised when a request breaks a rule; the server answers ``status`` and the message."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)


class FileExistsConflict(RequestRejected):
    """Raised when an upload would change a published release (versions are immutable).

    Either the filename holds different bytes, or ``existing`` is another file of the
    version that installs where this one would (:class:`hub._dist.ReleaseKey`), or
    ``unexplained``: a file of that name lies in the storage without a record.
    """

    def __init__(self, filename: str, existing: str | None = None,
                 unexplained: bool = False) -> None:
        self.filename = filename
        self.existing = existing
        if existing:
            what = (f"{existing} already is that release where this file would install "
                    "(an installer would pick one of the two, preferring a build tag or a "
                    "more specific tag); a published version gets files only for "
                    "environments none of its files serves")
        elif unexplained:
            what = ("a file of that name is in the hub's storage without a record; the "
                    "hub's admin should run `hub admin check`")
        else:
            what = f"{filename} was published with different content"
        super().__init__(
            409,
            f"File already exists: {what}; published files are immutable — bump the "
            "version and upload again",
        )


class NameTaken(RequestRejected):
    """Raised when an upload would put a name in both the hub's operators and its mirror.

    ``mirrored`` says which kind already holds ``project``: a mirrored third-party project
    (so an operator upload is refused) or a hub operator (so mirroring is refused). One
    name is one kind, so no installer, index or lock can take one for the other (#14).
    """

    def __init__(self, project: str, mirrored: bool) -> None:
        self.project = project
        self.mirrored = mirrored
        if mirrored:
            message = (f"project {project!r} is a mirrored third-party project on this hub "
                       "(`hub mirror`): a hub operator cannot take its name, or installers "
                       "could be handed one for the other — rename your project")
        else:
            message = (f"project {project!r} is a hub operator on this hub: a mirrored "
                       "third-party wheel can never use its name (it would shadow the "
                       "operator) — if an upstream package has this name, rename the operator")
        super().__init__(409, message)
