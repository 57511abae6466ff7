"""Public face of opshub's settings (environment variables over the config file).

>>> from hub.config import load_settings
>>> load_settings().url                      # doctest: +SKIP
'http://127.0.0.1:8470'
"""

from __future__ import annotations

from ._config import DEFAULT_URL, Settings, config_path, load_settings

__all__ = ["DEFAULT_URL", "Settings", "config_path", "load_settings"]
