"""Where packages come from, said once for uv, pip-tools and the env on the node.

pip's own variables (``PIP_INDEX_URL``, ``PIP_EXTRA_INDEX_URL``, ``PIP_FIND_LINKS``,
whitespace-separated as pip reads them) and opshub's ``[hub]`` settings (``index-url``,
``extra-index-urls``, ``find-links``) make one :class:`Sources`. uv ignores ``PIP_*``
(uv#1450), so every consumer gets them as explicit options from here.

The hub is never an index beside the others where a resolver cannot rank it: uv
gets it first with ``--index-strategy first-index`` (a hub name is taken from the
hub only), pip-tools never gets it (pip has no index priority, pip#8606), and the
node's env installs hub wheels by URL and sha256 (issue #10 item 4, #11 item 4).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from hub import ConfigError
from hub.config import Settings

PYPI = "https://pypi.org/simple/"


@dataclass(frozen=True)
class Sources:
    """The package indexes and find-links of a lock, and the hub's index if one is used."""

    index_url: str = PYPI
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    hub_index: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings, env: Mapping[str, str] = os.environ,
                      hub_index: str | None = None) -> Sources:
        """pip's variables first, then the ``[hub]`` settings (``HUB_*`` over the file)."""
        index = settings.package_index_url or env.get("PIP_INDEX_URL") or PYPI
        extras = [*env.get("PIP_EXTRA_INDEX_URL", "").split(), *settings.extra_index_urls]
        links = [*env.get("PIP_FIND_LINKS", "").split(), *settings.find_links]
        return cls(index, _unique(extras, index), _unique(links), hub_index)

    def uv_args(self) -> list[str]:
        """uv's options: hub first, extra indexes, the default index, find-links."""
        indexes = [*([self.hub_index] if self.hub_index else []), *self.extra_index_urls]
        return [*(o for url in indexes for o in ("--index", url)),
                "--default-index", self.index_url, "--index-strategy", "first-index",
                *(o for link in self.find_links for o in ("--find-links", link))]

    def pip_args(self) -> list[str]:
        """pip's (and pip-tools') options: the third-party sources, never the hub."""
        return ["--index-url", self.index_url,
                *(o for url in self.extra_index_urls for o in ("--extra-index-url", url)),
                *(o for link in self.find_links for o in ("--find-links", link))]

    def to_dict(self) -> dict[str, object]:
        return {"index_url": self.index_url, "extra_index_urls": list(self.extra_index_urls),
                "find_links": list(self.find_links), "hub_index": self.hub_index}

    def describe(self) -> str:
        """One line for messages: every source, in the order resolvers search them."""
        parts = [f"hub {self.hub_index}"] if self.hub_index else []
        parts += [*self.extra_index_urls, self.index_url, *(f"find-links {f}"
                                                            for f in self.find_links)]
        return ", ".join(parts)


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


def is_local_path(link: str) -> bool:
    """Whether a find-links entry is a folder on this machine (not a URL)."""
    return "://" not in link or link.startswith("file://") and Path(link[7:]).exists()
