"""The lock cooldown never keeps the hub's own projects out (#11 item 7).

``lock-exclude-newer`` keeps a freshly published third-party release out of locks;
the hub's projects are your own and were published seconds ago, so the planner spares
every hub name (uv's ``--exclude-newer-package NAME=false``). A real hub, a real
third-party index and real uv.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from support.app import AppServer, upload
from support.crafted import wheel_files, write_wheel
from support.index import serve_index

from hub import OperatorSpec
from hub._operator import HubOrigin
from hub.client import HubClient
from hub.config import Settings
from runtime_env import NodeReport, Planner, Scope, Survey, Target, UvResolver

pytestmark = pytest.mark.server
TARGET = Target("3.11.7")


def test_a_hub_project_published_just_now_is_locked_despite_the_cooldown(
    tmp_path: Path,
) -> None:
    now = datetime.now(timezone.utc)
    with AppServer(tmp_path / "hub") as hub, serve_index(tmp_path / "pypi") as pypi:
        library = write_wheel(tmp_path, wheel_files("libop", "1.0"))
        assert upload(hub.url, hub.token, library).ok  # a hub project, seconds old
        pypi.wheel("coolpkg", "1.0", uploaded=now - timedelta(days=40))
        pypi.wheel("coolpkg", "2.0", uploaded=now - timedelta(hours=1))  # third-party, fresh
        origin = HubOrigin(hub.url, "appop", "1.0", ("libop", "coolpkg"))
        spec = OperatorSpec("appop", "appop:run", distribution="appop", version="1.0",
                            origin=origin)
        planner = Planner(settings=Settings(cache_dir=tmp_path / "cache", url=hub.url,
                                            hub_configured=True, lock_exclude_newer="7 days"),
                          resolver=UvResolver(), client=HubClient(hub.url),
                          env={"PIP_INDEX_URL": pypi.simple})
        scope = Scope(Survey((NodeReport("bare", {"CPU": 1.0}, "3.11.7"),)), TARGET)
        lock = planner.lock([spec], scope)
    assert lock.as_dict == {"libop": "1.0", "coolpkg": "1.0"}  # spared; cooled
