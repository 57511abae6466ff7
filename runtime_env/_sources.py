"""Where packages come from, said once for uv, pip-tools and the env on the node.

pip's configuration, read as pip reads it (config files and ``PIP_*`` variables,
``PIP_NO_INDEX`` included: :class:`~runtime_env._pip_config.PipSources`), and opshub's
``[hub]`` settings (``index-url``, ``extra-index-urls``, ``find-links``) make one
:class:`Sources`. Every consumer gets them as explicit options from here and runs with its
own configuration off (uv ignores ``PIP_*``, uv#1450, and reads ``UV_*`` and uv.toml
instead), so a lock's cache key holds everything any tool searched.

Indexes are searched in order, a name taken from the first one with a version that fits
(uv's ``unsafe-first-match``): extra indexes before the default, like pip's extra index
of PyTorch CPU builds, and a partial mirror given as an extra index falls through to the
next one, as pip's would. The hub is never an index beside the others where that could
let another index supply one of its names: uv searches it first and a lock pinning a hub
name from elsewhere is refused (``_locking``); pip-tools never gets it (pip has no index
priority, pip#8606); the node's env installs hub wheels by URL and sha256 (issue #10
item 4, #11 item 4).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from hub import ConfigError
from hub.config import Settings

from ._pip_config import PipSources

PYPI = "https://pypi.org/simple/"


@dataclass(frozen=True)
class Sources:
    """The package indexes and find-links of a lock, and the hub's index if one is used.

    ``no_index``: no default index (pip's ``--no-index``): only the extra indexes, if
    any, and the find-links.
    """

    index_url: str = PYPI
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    hub_index: str | None = None
    no_index: bool = False

    @classmethod
    def from_settings(cls, settings: Settings, pip: PipSources | None = None,
                      hub_index: str | None = None) -> Sources:
        """pip's sources, then the ``[hub]`` settings (``HUB_*`` over the file): an
        ``index-url`` setting replaces pip's index, the lists add to pip's."""
        pip = pip or PipSources()
        pip_extras = () if pip.no_index else pip.extra_index_urls
        index = settings.package_index_url or (None if pip.no_index else pip.index_url)
        no_index = pip.no_index and not settings.package_index_url
        extras = [*pip_extras, *settings.extra_index_urls]
        links = [*pip.find_links, *settings.find_links]
        default = () if no_index else (index or PYPI,)  # an extra index beside it is itself
        return cls(index or PYPI, _unique(extras, *default), _unique(links), hub_index,
                   no_index)

    @property
    def indexes(self) -> tuple[str, ...]:
        """The third-party indexes, in the order they are searched (the default last)."""
        return (*self.extra_index_urls, *(() if self.no_index else (self.index_url,)))

    @property
    def searched(self) -> tuple[str, ...]:
        """Every index, in the order uv searches them: the hub first, the default last."""
        return (*((self.hub_index,) if self.hub_index else ()), *self.indexes)

    def uv_args(self) -> list[str]:
        """uv's options: hub first, extra indexes, the default index, find-links."""
        indexes = self.searched
        where = ["--no-index"] if not indexes else [
            *(o for url in indexes[:-1] for o in ("--index", url)),
            "--default-index", indexes[-1], "--index-strategy", "unsafe-first-match"]
        return [*where, *(o for link in self.find_links for o in ("--find-links", link))]

    def pip_args(self, *, after_hub: bool = False) -> list[str]:
        """pip's (and pip-tools') options: the third-party sources, never the hub (pip
        ranks indexes alike); ``after_hub``: all as extra indexes, for a command whose
        index is the hub (`hub install --installer pip` checks where names come from)."""
        indexes = [*([] if self.no_index else [self.index_url]), *self.extra_index_urls]
        if after_hub:
            where = [o for url in indexes for o in ("--extra-index-url", url)]
        elif indexes:
            where = ["--index-url", indexes[0],
                     *(o for url in indexes[1:] for o in ("--extra-index-url", url))]
        else:
            where = ["--no-index"]
        return [*where, *(o for link in self.find_links for o in ("--find-links", link))]

    def to_dict(self) -> dict[str, object]:
        return {"index_url": None if self.no_index else self.index_url,
                "extra_index_urls": list(self.extra_index_urls),
                "find_links": list(self.find_links), "hub_index": self.hub_index}

    def describe(self) -> str:
        """One line for messages: every source, in the order resolvers search them."""
        parts = [f"hub {self.hub_index}"] if self.hub_index else []
        parts += [*self.indexes, *(f"find-links {f}" for f in self.find_links)]
        return ", ".join(parts) or "no index and no find-links"


def _unique(items: Sequence[str], *skip: str) -> tuple[str, ...]:
    return tuple(i for i in dict.fromkeys(items) if i not in skip)


# --- the lock cooldown (issue #11 item 7) -------------------------------------------------

_DURATION = re.compile(r"^(\d+)\s*(second|minute|hour|day|week)s?\Z")
_ISO_DURATION = re.compile(r"^P(\d+)([DW])\Z")
_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 7 * 86400,
          "D": 86400, "W": 7 * 86400}


@dataclass(frozen=True)
class Cooldown:
    """Ignore releases uploaded after a cutoff: ``"7 days"`` (before now), or a date.

    Needs the index's PEP 700 ``upload-time`` (the hub serves it). ``exceptions`` are
    packages the cooldown spares; hub projects are always spared (they are your own).
    """

    setting: str
    exceptions: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        self.cutoff()  # a bad setting fails when it is read, not in the middle of a lock

    @classmethod
    def from_settings(cls, settings: Settings) -> Cooldown | None:
        if not settings.lock_exclude_newer:
            return None
        return cls(settings.lock_exclude_newer.strip(),
                   tuple(sorted(settings.lock_exclude_newer_exceptions)))

    def cutoff(self, now: datetime | None = None) -> datetime:
        """The absolute time before which releases count."""
        now = now or datetime.now(timezone.utc)
        text = self.setting
        match = _DURATION.match(text.lower()) or _ISO_DURATION.match(text.upper())
        if match:
            return now - timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ConfigError(
                f"lock-exclude-newer = {text!r} must be a duration ('7 days', '2 weeks', "
                "'P7D') or a date or time ('2024-06-01', '2024-06-01T12:00:00Z')") from None
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)

    def stamp(self, now: datetime | None = None) -> str:
        """The cutoff as RFC 3339 UTC, as both uv and pip accept it."""
        return self.cutoff(now).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
