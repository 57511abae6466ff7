"""The hub's web pages (issue 15): home, search results, project and version pages.

Jinja2 templates over the storage's light listing; README cards rendered by
markdown-it-py with raw HTML off and sanitized by nh3; no script anywhere.
"""

from __future__ import annotations

from ._views import MAX_README_BYTES, Pages, routes

__all__ = ["MAX_README_BYTES", "Pages", "routes"]
