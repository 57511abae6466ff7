"""Progress for long byte copies (upload, `hub mirror`, `hub bundle`, `hub import`).

One rule for when a bar shows: asked for (not ``--json``) and stderr is a terminal, so
logs, pipes and JSON output never hold a bar's carriage returns.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import IO, Any


def byte_bar(total: int, desc: str, show: bool = True) -> Any:
    """A tqdm bar over ``total`` bytes on stderr, disabled unless ``show`` and stderr is a
    terminal; it leaves no line behind."""
    from tqdm import tqdm

    return tqdm(total=total, unit="B", unit_scale=True, desc=desc, leave=False,
                disable=not (show and sys.stderr.isatty()))


class Counted:
    """A file for requests to stream as a request body, with its length (so it is sent
    with Content-Length, not chunked), reporting each read to ``progress``."""

    def __init__(self, handle: IO[bytes], size: int,
                 progress: Callable[[int], None] = lambda n: None) -> None:
        self.handle, self.size, self.progress = handle, size, progress

    def __len__(self) -> int:
        return self.size

    def read(self, n: int = -1) -> bytes:
        data = self.handle.read(n)
        self.progress(len(data))
        return data


def human(size: int) -> str:
    """``842.3 MB``: sizes as people read them (powers of 1000, as pip and uv print)."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"
