"""Offline mode (issue #14), public for runtime_env: which package a tool could not find.

With the hub as the only index, a failed lock or install almost always means one
wheel is not mirrored; uv says which in one of a few fixed phrasings (uv 0.13.9):

    Because pillow was not found in the package registry and you require pillow>=10, ...
    Because only numpy==1.0 is available and you require numpy>=2, ...
    Because there is no version of sympy==1.14.0 and torch==2.13.0+cpu depends on ...
    Because torch==2.13.0+cpu has no wheels with a matching platform tag ...

so the message can name the package and the `hub mirror` that fixes it.
"""

from __future__ import annotations

import re

from ._operator import normalize_name

_NAME = r"([A-Za-z0-9][A-Za-z0-9._-]*?)(?:\[[^\]]*\])?"
_PHRASES = [re.compile(p) for p in (
    _NAME + r" was not found in the package registry",
    r"there is no version of " + _NAME + r"(?:[<>=!~]|\s|$)",
    r"only " + _NAME + r"[<>=!~]",
    r"no versions of " + _NAME + r"(?:[<>=!~]|\s|$)",
    _NAME + r"==\S+ has no wheels with a matching",
    r"[Nn]o matching distribution found for " + _NAME + r"(?:[<>=!~]|\s|$)",  # pip's
)]


def missing_package(text: str) -> str | None:
    """The package a failed uv (or pip) run says it could not find, normalized, or None."""
    found = [(m.start(), m.group(1)) for p in _PHRASES for m in p.finditer(text)]
    return normalize_name(min(found)[1]) if found else None
