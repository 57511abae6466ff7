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
=================  ==========================  ==========================================
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

    @property
    def index_url(self) -> str:
        """The PEP 503 simple index of the hub."""
        return self.url.rstrip("/") + "/simple/"

    @property
    def worker_index_url(self) -> str:
        """The simple index as Ray workers reach it (defaults to the driver's)."""
        return (self.worker_url or self.url).rstrip("/") + "/simple/"


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
    return Settings(config_file=path if path.exists() else None, **values)


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
    return section
