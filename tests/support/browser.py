"""A real headless Chromium for the page tests: Debian's package, driven by Playwright.

Playwright's pip wheel carries its own driver, so nothing is downloaded at run time;
it is pointed at ``/usr/bin/chromium`` (never `playwright install`). Chromium is
installed with apt when missing, once; on a machine where that cannot work the tests
fail with one line saying so, never skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium's own connections (updates, sync,
# field trials) are refused by this closed network and slow every start. Playwright's
# launch() adds --headless and a fresh temporary --user-data-dir of its own.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
APT_ENV = {"DEBIAN_FRONTEND": "noninteractive"}
# Other engineers' test runs may install at the same time: wait for dpkg's lock.
APT_INSTALL = ["apt-get", "install", "-y", "-q", "-o", "DPkg::Lock::Timeout=300", "chromium"]


class ChromiumUnavailable(RuntimeError):
    """Raised when Chromium is missing and apt cannot install it."""


def ensure_chromium() -> tuple[Path, float]:
    """The Chromium binary, installed with apt if missing; and the seconds installing took."""
    if CHROMIUM.exists():
        return CHROMIUM, 0.0
    if shutil.which("apt-get") is None:
        raise ChromiumUnavailable(f"{CHROMIUM} is missing and this machine has no apt-get; "
                                  "install Debian's `chromium` package")
    started = time.monotonic()
    for command in (["apt-get", "update", "-q"], APT_INSTALL):
        _apt(command)
    if not CHROMIUM.exists():
        raise ChromiumUnavailable(f"apt-get installed chromium but {CHROMIUM} is still missing")
    return CHROMIUM, time.monotonic() - started


def _apt(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False,
                          env={**os.environ, **APT_ENV}, timeout=900)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise ChromiumUnavailable(f"{CHROMIUM} is missing and `{' '.join(command)}` failed "
                                  f"({tail[0]}); run `apt-get install chromium` as root")


@dataclass
class Tab:
    """A page in a fresh browser context, with everything it reported."""

    page: Page
    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def reports(self) -> list[str]:
        """Console errors and warnings, uncaught errors and dialogs: a sign of script."""
        return self.console + self.errors + self.dialogs


def open_tab(browser: Browser, **context: Any) -> Tab:
    """A new context (``viewport``, ``java_script_enabled``...) and a page listening to it."""
    page = browser.new_context(**context).new_page()
    tab = Tab(page)
    page.on("console", lambda m: tab.console.append(f"{m.type}: {m.text}")
            if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: tab.errors.append(str(e)))
    page.on("dialog", lambda d: (tab.dialogs.append(f"{d.type}: {d.message}"), d.dismiss()))
    return tab
