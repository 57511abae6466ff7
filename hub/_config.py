"""Settings: environment variables over the config file over defaults.

=================  ==========================  ==========================================
variable           config file (``[hub]``)     meaning
=================  ==========================  ==========================================
HUB_URL            url                         the hub the client talks to
HUB_TOKEN          token                       upload token for `hub publish`
HUB_WORKER_URL     worker_url                  the hub as Ray workers reach it
HUB_DATA_DIR       data_dir                    server storage and tokens (`hub serve`)
HUB_CACHE_DIR      cache_dir                   resolved locks and built wheels
HUB_CONFIG         -                           path of the config file itself
HUB_FALLBACK       fallback                    fetch operators that are not installed from
                                               the configured hub (default on; 0 turns it off)
HUB_INDEX_URL      index-url                   the index for third-party packages (default:
                                               pip's, from PIP_INDEX_URL or pip.conf, else PyPI)
HUB_EXTRA_INDEX_URLS  extra-index-urls         more indexes (after pip's extra-index-url)
HUB_FIND_LINKS     find-links                  wheel folders or pages (after pip's find-links)
HUB_LOCK_EXCLUDE_NEWER  lock-exclude-newer     lock cooldown: ignore releases newer than this
                                               ("7 days", "2024-06-01")
HUB_LOCK_EXCLUDE_NEWER_EXCEPTIONS  lock-exclude-newer-exceptions  packages the cooldown spares
HUB_OFFLINE        offline                     the hub is the only index (air-gapped; its
                                               mirror for third-party wheels, issue #14)
=================  ==========================  ==========================================

List values are TOML arrays in the file and whitespace- or comma-separated in variables.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from ._exceptions import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

APP_NAME = "opshub"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8470
DEFAULT_URL = f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"


@dataclass(frozen=True)
class Settings:
    """Resolved settings; build one with :func:`load_settings`."""

    url: str = DEFAULT_URL
    token: str | None = None
    worker_url: str | None = None
    data_dir: Path = Path(platformdirs.user_data_dir(APP_NAME))
    cache_dir: Path = Path(platformdirs.user_cache_dir(APP_NAME))
    config_file: Path | None = None
    # Operators and package sources for remote envs (issue #10), the lock cooldown (#11).
    hub_configured: bool = False  # HUB_URL or `url` given: the fallback may ask this hub
    fallback: bool = True
    package_index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    lock_exclude_newer: str | None = None
    lock_exclude_newer_exceptions: tuple[str, ...] = ()
    offline: bool = False  # issue #14: locks, envs and installs use the hub alone


def config_path(env: Mapping[str, str] = os.environ) -> Path:
    """Where the config file lives (``HUB_CONFIG`` or the user config dir)."""
    if env.get("HUB_CONFIG"):
        return Path(env["HUB_CONFIG"])
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def load_settings(env: Mapping[str, str] = os.environ) -> Settings:
    """Read settings from the environment and the config file."""
    path = config_path(env)
    file_values = _read_config(path)
    values: dict[str, Any] = {}
    for key in ("url", "token", "worker_url", "data_dir", "cache_dir"):
        value = env.get(f"HUB_{key.upper()}") or file_values.get(key)
        if value:
            values[key] = Path(value).expanduser() if key.endswith("_dir") else str(value)
    for key in ("url", "worker_url"):
        if key in values and not values[key].startswith(("http://", "https://")):
            raise ConfigError(
                f"HUB_{key.upper()}={values[key]!r} must start with http:// or https://"
            )
    values.update(_remote_env_values(env, file_values))
    return Settings(config_file=path if path.exists() else None, **values)


_LISTS = ("extra-index-urls", "find-links", "lock-exclude-newer-exceptions")
_TEXTS = ("index-url", "lock-exclude-newer")
_FLAGS = ("fallback", "offline")
_FALSE = {"0", "false", "no", "off"}


def _remote_env_values(env: Mapping[str, str], file_values: Mapping[str, Any]) -> dict[str, Any]:
    """The settings of package sources, the cooldown and the hub fallback (dashed keys)."""
    found = {k.replace("_", "-"): v for k, v in file_values.items()}
    values: dict[str, Any] = {"hub_configured": bool(env.get("HUB_URL") or found.get("url"))}
    for key in (*_TEXTS, *_LISTS, *_FLAGS):
        raw = env.get("HUB_" + key.upper().replace("-", "_"))
        value: Any = raw if raw is not None else found.get(key)
        if value is None or value == "":
            continue
        field = "package_index_url" if key == "index-url" else key.replace("-", "_")
        values[field] = _typed(key, value)
    return values


def _typed(key: str, value: Any) -> Any:
    """A value as its setting holds it; its type was checked where it was read (the file's
    in :func:`_check_type`; the environment's are strings)."""
    if key in _FLAGS:
        return str(value).strip().lower() not in _FALSE if not isinstance(value, bool) else value
    if key in _LISTS:
        return tuple(value.replace(",", " ").split() if isinstance(value, str) else value)
    return value


def _read_config(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:  # TOML is UTF-8 by definition
        raise ConfigError(f"config file {path} is not UTF-8 text (byte {exc.start}: "
                          f"{exc.reason}); save it as UTF-8") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    section = data.get("hub", {})
    if not isinstance(section, dict):
        raise ConfigError(f"config file {path}: [hub] must be a table")
    for key, value in section.items():
        _check_type(path, key, value)
    return section


# Each key of the file's [hub] table (dashes or underscores) -> (accepts, what it must be).
_TEXT = ((str,), "a string")
_KEY_TYPES: dict[str, tuple[tuple[type, ...], str]] = {
    "url": _TEXT, "token": _TEXT, "worker-url": _TEXT, "index-url": _TEXT,
    "data-dir": ((str,), "a string (a folder path)"),
    "cache-dir": ((str,), "a string (a folder path)"),
    "lock-exclude-newer": ((str,), 'a string ("7 days" or a date)'),
    **{key: ((list, str), "a list of strings") for key in _LISTS},
    **{key: ((bool, str), "true or false") for key in _FLAGS},
}


def _check_type(path: Path, key: str, value: Any) -> None:
    """One line naming the file, the key and the type it needs (#11: ``data_dir = 5`` gave
    a TypeError traceback)."""
    accepts, expected = _KEY_TYPES.get(key.replace("_", "-"), ((object,), ""))
    items = value if isinstance(value, list) else []
    if not isinstance(value, accepts) or not all(isinstance(i, str) for i in items):
        raise ConfigError(f"config file {path}: {key} = {value!r} must be {expected}; "
                          "fix it in that file")
