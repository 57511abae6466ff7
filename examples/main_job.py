"""The main job (`make demo`): a local hub, the first-party operators, an image search on Ray.

Like a user would, it runs `hub serve` (unless a hub already answers at HUB_URL),
publishes everything in operators/ to it, installs image-decode and image-embed
from it into this environment, runs examples/image_search.py on a local Ray, and
ends with the hub's page of the image-embed operator.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from hub.config import load_settings

ROOT = Path(__file__).resolve().parent.parent
HUB = [sys.executable, "-m", "hub"]


def run(*args: str) -> None:
    """Run a `hub` command, echoing it like a shell session."""
    print(f"\n$ hub {' '.join(args)}", flush=True)
    subprocess.run([*HUB, *args], check=True)


def hub_is_up(url: str) -> bool:
    try:
        return requests.get(url + "/api/health", timeout=2).ok
    except requests.ConnectionError:
        return False


@contextmanager
def local_hub() -> Iterator[str]:
    """The hub at HUB_URL if one answers, else a `hub serve` started for this job."""
    url = load_settings().url.rstrip("/")
    if hub_is_up(url):
        print(f"using the hub at {url}")
        yield url
        return
    port = url.rsplit(":", 1)[-1]
    print(f"$ hub serve --port {port} &", flush=True)
    server = subprocess.Popen([*HUB, "serve", "--port", port])
    try:
        deadline = time.monotonic() + 30
        while not hub_is_up(url):
            if server.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"could not start a hub at {url}; is port {port} taken? set HUB_URL")
            time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(10)


def main() -> None:
    with local_hub() as url:
        run("publish", "--skip-existing", *sorted(str(p) for p in (ROOT / "operators").iterdir()))
        run("search", "embed")
        run("install", "image-decode", "image-embed")
        run("list")
        print("\n$ python examples/image_search.py", flush=True)
        subprocess.run([sys.executable, str(ROOT / "examples" / "image_search.py")], check=True,
                       env={**os.environ, "RAY_DEDUP_LOGS": "1"})
    page = f"{url}/project/image-embed/"
    if hub_is_up(url):
        print(f"\nimage-embed on the hub: {page}", flush=True)
    else:  # this job's own hub stopped with it; the storage stays
        print(f"\nimage-embed on the hub: {page} (run `hub serve --port "
              f"{url.rsplit(':', 1)[-1]}` to open it)", flush=True)


if __name__ == "__main__":
    main()
