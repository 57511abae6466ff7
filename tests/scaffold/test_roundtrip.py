"""The scaffold's round trip: new, build, validate, publish, install, test, run on Ray."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import pytest
from uv import find_uv_bin

from hub._dist import inspect_wheel
from hub._publish import build_wheel
from hub._scaffold import scaffold

pytestmark = [pytest.mark.slow, pytest.mark.network]  # uv builds the project: hatchling from PyPI

HUB = [sys.executable, "-m", "hub"]

RUN_ON_RAY = """
import json, sys
import ray
from hub import DataCollection, ops

ray.init(num_cpus=1, include_dashboard=False,
         _node_ip_address="127.0.0.1", _temp_dir=sys.argv[1], log_to_driver=False)
try:
    op = ops["word-count"](prefix="> ")
    out = DataCollection(["a", "b", "c"]).set_parallel(1, backend="ray").map(op).to_list()
finally:
    ray.shutdown()
print(json.dumps(out))
"""


def run_project_tests(python: str, project: Path, env: dict[str, str]) -> str:
    """Run the scaffolded project's own tests with `python`; return pytest's output."""
    result = subprocess.run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=project, env=env, capture_output=True, check=False, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.parametrize("kind", ["function", "class"])
def test_the_wheel_passes_the_hub_rules_and_its_own_test(tmp_path: Path, kind: str) -> None:
    project = scaffold("word-count", kind=kind, directory=tmp_path)
    wheel = build_wheel(project, tmp_path / "dist")
    info = inspect_wheel(wheel)  # what the server checks on upload
    assert (info.name, info.version) == ("word-count", "0.1.0")
    [operator] = info.operators
    assert (operator["name"], operator["kind"], operator["batch"]) == (
        "word-count", kind, kind == "class"
    )
    assert info.readme.startswith("# word-count")
    site = tmp_path / "site"
    subprocess.run([find_uv_bin(), "pip", "install", "--quiet", "--no-deps", "--target",
                    str(site), str(wheel)], check=True)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [
        str(site), os.environ.get("PYTHONPATH")]))}
    assert "2 passed" in run_project_tests(sys.executable, project, env)


def user_venv(path: Path) -> str:
    """A fresh venv that also sees this environment's packages (opshub, ray), not its files."""
    subprocess.run([find_uv_bin(), "venv", "--quiet", "--python", sys.executable, str(path)],
                   check=True)
    python = path / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path("
                              "'purelib'))"], capture_output=True, text=True, check=True)
    # An `import` line in a .pth runs at start-up: addsitedir also honours the editable
    # install's own .pth files, which a plain path line would not.
    ours = sysconfig.get_path("purelib")
    Path(purelib.stdout.strip(), "opshub-parent.pth").write_text(
        f"import site; site.addsitedir({ours!r})\n"
    )
    return str(python)


@pytest.mark.server
@pytest.mark.ray
def test_new_publish_install_run_on_ray(tmp_path: Path, hub_server) -> None:
    """What the walkthrough shows: a user's operator from `hub new` to a Ray pipeline."""
    subprocess.run([*HUB, "new", "word-count", "--class", "--dir", str(tmp_path)], check=True)
    project = tmp_path / "word-count"
    subprocess.run([*HUB, "publish", str(project)], check=True)
    python = user_venv(tmp_path / "venv")
    subprocess.run([*HUB, "install", "--python", python, "word-count"], check=True)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    assert "2 passed" in run_project_tests(python, project, env)
    ray_temp = tempfile.mkdtemp(prefix="opshub-ray-")
    try:
        out = subprocess.run([python, "-c", RUN_ON_RAY, ray_temp], cwd=tmp_path, env=env,
                             capture_output=True, check=False, text=True, timeout=300)
    finally:
        shutil.rmtree(ray_temp, ignore_errors=True)
    assert out.returncode == 0, out.stderr[-3000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == ["> A", "> B", "> C"]
