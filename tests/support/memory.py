"""The driver's memory while something runs: its resident set, sampled by psutil."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

MIB = 1024 * 1024


@dataclass
class Rss:
    """Resident set size of this process before a block of code and its peak during it."""

    before_mb: float = 0.0
    peak_mb: float = 0.0

    @property
    def growth_mb(self) -> float:
        return self.peak_mb - self.before_mb


@contextmanager
def peak_rss(every: float = 0.01) -> Iterator[Rss]:
    """Sample this process's RSS every ``every`` seconds while the block runs."""
    import psutil

    proc = psutil.Process()
    rss = Rss()
    rss.before_mb = rss.peak_mb = proc.memory_info().rss / MIB
    done = threading.Event()

    def sample() -> None:
        while not done.wait(every):
            rss.peak_mb = max(rss.peak_mb, proc.memory_info().rss / MIB)

    thread = threading.Thread(target=sample, daemon=True, name="peak-rss")
    thread.start()
    try:
        yield rss
    finally:
        done.set()
        thread.join()
        rss.peak_mb = max(rss.peak_mb, proc.memory_info().rss / MIB)
