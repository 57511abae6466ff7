"""node_env: the emitted runtime_env (pure), the node-side builder (real processes, no Ray),
and the bare node of a real two-node cluster (one cluster for the module).

The builder tests start the launcher exactly as the raylet does (``bash -c "exec
<py_executable> <worker args>"``) with the bare venv's Python, under a stand-in raylet
process whose command line carries ``--python_worker_command`` (how the launcher finds the
node's Python); the "worker" is a small script instead of Ray's default_worker.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from ray.runtime_env import RuntimeEnv
from support.cluster import Cluster, bare_venv, run_driver, start_cluster
from support.net import free_port
from uv import find_uv_bin

from hub._exceptions import ConfigError
from runtime_env import NodeTool, Sources, Target, _node_builder
from runtime_env._node_env import MAX_LAUNCHER, node_env, requirement_lines

HASH = "--hash=sha256:" + "ab" * 32
UV = "uv-0.13.9-py3-none-manylinux_2_17_x86_64.whl"
TOOL = NodeTool(UV, f"https://files.example/{UV}", ("cd" * 32,))


def spec_of(fields: dict[str, Any]) -> dict[str, Any]:
    """The spec a launcher carries (its last word)."""
    return dict(json.loads(_node_builder.decode(shlex.split(fields["py_executable"])[-1])))


# --- the emitted shape (pure) -----------------------------------------------------------------


def test_emits_only_py_executable_and_ray_keeps_it() -> None:
    fields = node_env([f"toolz==1.0.0 {HASH}"], install_options=["--find-links", "/opt/w"],
                      tool=TOOL)
    assert set(fields) == {"py_executable"}
    assert RuntimeEnv(**fields).to_dict() == fields  # Ray drops unknown keys: none dropped
    merged: dict[str, Any] = {**fields, "env_vars": {"A": "1"}, "py_modules": ["gcs://x.zip"]}
    assert RuntimeEnv(**merged).to_dict() == merged


def test_spec_is_the_lock_the_options_and_the_pinned_tool() -> None:
    fields = node_env([f"Toolz == 1.0.0 {HASH}", f"op @ https://hub/op-1-py3-none-any.whl {HASH}"],
                      install_options=["-i", "https://idx/simple", "--find-links=/opt/w",
                                       "--no-index"], tool=TOOL)
    spec = spec_of(dict(fields))
    assert spec["requirements"] == [f"Toolz == 1.0.0 {HASH}",
                                    f"op @ https://hub/op-1-py3-none-any.whl {HASH}"]
    assert spec["install_options"] == ["--index-url", "https://idx/simple",
                                       "--find-links", "/opt/w", "--no-index"]
    assert spec["tool"] == {"filename": UV, "url": f"https://files.example/{UV}",
                            "hashes": ["cd" * 32]}  # the wheel the node fetches, no pip


def test_same_lock_in_any_order_is_one_env() -> None:
    a, b = f"toolz==1.0.0 {HASH}", f"tabulate==0.9.0 {HASH}"
    assert node_env([a, b], install_options=[], tool=TOOL) == \
        node_env([b, a], install_options=[], tool=TOOL)


def test_requirement_lines_joins_continuations() -> None:
    text = ("# header\ntabulate==0.9.0 \\\n    --hash=sha256:" + "a" * 64 + " \\\n"
            "    --hash=sha256:" + "b" * 64 + "\n    # via -r in.txt\n\ntoolz==1.0.0 \\\n"
            "    --hash=sha256:" + "c" * 64 + "\n")
    assert requirement_lines(text) == [
        f"tabulate==0.9.0 --hash=sha256:{'a' * 64} --hash=sha256:{'b' * 64}",
        f"toolz==1.0.0 --hash=sha256:{'c' * 64}"]


@pytest.mark.parametrize(("line", "message"), [
    ("toolz>=1.0", "must be pinned"),
    ("toolz==1.*  " + HASH, "must be pinned"),
    ("toolz==1.0.0", "must be pinned"),
    ("toolz==1.0.0 --hash=md5:abc", "must be pinned"),
    ("toolz==1.0.0 --hash=sha256:short", "must be pinned"),
    ("ray==2.0.0 " + HASH, "would change Ray"),
    ("not a requirement!! " + HASH, "is not valid"),
])
def test_rejects_what_is_not_a_hash_pinned_lock_line(line: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        node_env([line], install_options=[], tool=TOOL)


def test_rejects_two_pins_of_one_package() -> None:
    with pytest.raises(ConfigError, match="pin toolz more than once"):
        node_env([f"toolz==1.0.0 {HASH}", f"Toolz==0.12.1 {HASH}"], install_options=[],
                 tool=TOOL)


@pytest.mark.parametrize(("options", "message"), [
    (["--index-strategy", "unsafe-best-match"], "not allowed in a node env"),
    (["--trusted-host", "x"], "not allowed in a node env"),
    (["--find-links"], "needs a value"),
    (["--index-url", "--no-index"], "needs a value"),
])
def test_rejects_options_beyond_index_options(options: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        node_env([f"toolz==1.0.0 {HASH}"], install_options=options, tool=TOOL)


def test_a_lock_too_large_for_a_command_line_is_refused() -> None:
    lines = [f"pkg{i}==1.0 " + " ".join("--hash=sha256:" + hashlib.sha256(f"{i}{j}".encode())
                                         .hexdigest() for j in range(20)) for i in range(200)]
    with pytest.raises(ConfigError, match=f"over the {MAX_LAUNCHER}"):
        node_env(lines, install_options=[], tool=TOOL)


# --- the builder on this machine, without Ray -------------------------------------------------

PROBE = """
import json, sys
info = {"prefix": sys.prefix, "args": sys.argv[1:]}
try:
    import tabulate, toolz
    info.update(tabulate=tabulate.__version__, toolz=toolz.__version__)
except ImportError as exc:
    info["error"] = f"{type(exc).__name__}: {exc}"
import importlib.util
info["ray"] = importlib.util.find_spec("ray").origin
print(json.dumps(info))
"""


def compile_lock(folder: Path, *requirements: str) -> list[str]:
    """A real hash-pinned lock (``uv pip compile --generate-hashes``)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "in.txt").write_text("\n".join(requirements) + "\n")
    subprocess.run([find_uv_bin(), "pip", "compile", "--quiet", "--generate-hashes",
                    "--no-header", str(folder / "in.txt"), "-o", str(folder / "lock.txt")],
                   check=True)
    return requirement_lines((folder / "lock.txt").read_text())


@pytest.fixture(scope="module")
def small_lock(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    return compile_lock(tmp_path_factory.mktemp("lock"), "tabulate==0.9.0", "toolz==1.0.0")


@pytest.fixture(scope="module")
def tool() -> NodeTool:
    """The pinned uv's wheel for this machine on PyPI, as the planner finds it."""
    return NodeTool.find(Target.current(), Sources())


@pytest.fixture(scope="module")
def node_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One env root for the module: the pinned uv is bootstrapped into it once."""
    return tmp_path_factory.mktemp("node-envs")


@pytest.fixture(scope="module")
def raylet() -> Iterator[int]:
    """A process whose command line names the bare venv's Python, as a raylet's does."""
    stand_in = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)",
                                 f"--python_worker_command={bare_venv()} setup_worker.py"])
    yield stand_in.pid
    stand_in.kill()
    stand_in.wait()


def launch(fields: dict[str, Any], root: Path, raylet: int, probe: Path) -> subprocess.Popen[str]:
    """Start the launcher the way Ray's setup_worker.py does."""
    env = {**os.environ, "RAY_RAYLET_PID": str(raylet), "OPSHUB_NODE_ENV_DIR": str(root)}
    return subprocess.Popen(["bash", "-c", f"exec {fields['py_executable']} {probe} --x=1"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def envs(root: Path) -> set[str]:
    """The env folders under ``root``, complete or not."""
    return {p.name for p in root.iterdir() if p.is_dir() and p.name not in ("tools", "cache")}


def builds(root: Path) -> list[dict[str, Any]]:
    log = root / "builds.log"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


@pytest.fixture
def probe(tmp_path: Path) -> Path:
    (tmp_path / "probe.py").write_text(PROBE)
    return tmp_path / "probe.py"


@pytest.mark.slow
@pytest.mark.network  # the lock and the node env's packages come from PyPI
def test_three_workers_starting_at_once_share_one_build(
    small_lock: list[str], tool: NodeTool, node_root: Path, raylet: int, probe: Path
) -> None:
    fields = dict(node_env(small_lock, install_options=[], tool=tool))
    before = len(builds(node_root))
    workers = [launch(fields, node_root, raylet, probe) for _ in range(3)]
    outs = [json.loads(w.communicate(timeout=300)[0].splitlines()[-1]) for w in workers]
    assert {(o["tabulate"], o["toolz"]) for o in outs} == {("0.9.0", "1.0.0")}
    assert len({o["prefix"] for o in outs}) == 1 and outs[0]["prefix"].startswith(str(node_root))
    assert outs[0]["args"] == ["--x=1"]  # the worker's own arguments, passed through
    assert outs[0]["ray"].startswith(str(bare_venv().parent.parent))  # the node's own Ray
    assert [b["ok"] for b in builds(node_root)[before:]] == [True]


@pytest.mark.slow
@pytest.mark.network
def test_a_build_killed_half_way_is_rebuilt_by_the_next_worker(
    small_lock: list[str], tool: NodeTool, tmp_path: Path, node_root: Path, raylet: int,
    probe: Path
) -> None:
    # another spec (an extra, empty find-links folder), so another env than the test above
    fields = dict(node_env(small_lock, install_options=["--find-links", str(tmp_path)],
                           tool=tool))
    before = envs(node_root)
    worker = launch(fields, node_root, raylet, probe)
    builder = _wait_for_builder(worker.pid)
    _wait_until(lambda: envs(node_root) - before)  # the venv exists, the install runs
    os.killpg(builder, signal.SIGKILL)  # mid-build; the builder runs in its own session
    first = json.loads(worker.communicate(timeout=120)[0].splitlines()[-1])
    assert "NodeEnvBuildError" in first["error"] and "left no env" in first["error"]
    second = json.loads(launch(fields, node_root, raylet, probe).communicate(timeout=300)[0]
                        .splitlines()[-1])
    assert (second["tabulate"], second["toolz"]) == ("0.9.0", "1.0.0")
    assert [b["ok"] for b in builds(node_root)][-1:] == [True]


@pytest.mark.slow
@pytest.mark.network  # the pinned uv's real wheel, from PyPI
@pytest.mark.parametrize("fault", ["wrong sha256", "unreachable"])
def test_a_tool_that_cannot_be_fetched_fails_the_build_in_one_recorded_line(
    small_lock: list[str], tool: NodeTool, tmp_path: Path, raylet: int, probe: Path,
    fault: str
) -> None:
    bad = (replace(tool, hashes=("0" * 64,)) if fault == "wrong sha256" else
           replace(tool, url=f"http://127.0.0.1:{free_port()}/{tool.filename}"))
    root = tmp_path / "node-envs"  # a node that has no uv yet
    fields = dict(node_env(small_lock, install_options=[], tool=bad))
    out = json.loads(launch(fields, root, raylet, probe).communicate(timeout=120)[0]
                     .splitlines()[-1])
    assert out["error"].startswith("NodeEnvBuildError: No module named 'tabulate': opshub "
                                   "node env ")
    cause = out["error"].split("failed to build on this node: ", 1)[1]
    assert cause.startswith(f"{tool.filename} from {tool.url} has sha256 " if fault ==
                            "wrong sha256" else f"cannot fetch {tool.filename} from {bad.url} (")
    assert [(b["ok"], b["message"]) for b in builds(root)] == [
        (False, out["error"].split(": ", 2)[2])]  # recorded as any failed build is
    assert envs(root) == set() and not (root / "tools" / "uv-0.13.9").exists()


def _wait_until(condition: Callable[[], object], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def _wait_for_builder(pid: int, seconds: float = 60) -> int:
    """The pid of the detached ``--build`` child of a launcher, once it has started."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            if b"--build" in _cmdline(child):
                return int(child)
        time.sleep(0.02)
    raise AssertionError("the launcher started no builder")


def _cmdline(pid: str) -> list[bytes]:
    """A process's arguments; none for a child that ended since it was listed."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except FileNotFoundError:
        return []


# --- the bare node of a real cluster -----------------------------------------------------------

DRIVER = '''
import json, sys
import ray
env = json.load(open("env.json"))
ray.init(address=sys.argv[1], log_to_driver=False)

@ray.remote(num_cpus=0, resources={"bare": 0.01})
class Probe:
    def info(self):
        import os, sys, tabulate, toolz
        return {"prefix": sys.prefix, "pid": os.getpid(), "tabulate": tabulate.__version__,
                "toolz": toolz.__version__, "impostor": hasattr(toolz, "IMPOSTOR")}

@ray.remote(num_cpus=0, resources={"bare": 0.01}, max_retries=0)
def use():
    import sys, tabulate
    return {"prefix": sys.prefix, "tabulate": tabulate.__version__}

out = {}
if "actors" in sys.argv[2:]:
    actors = [Probe.options(runtime_env=env).remote() for _ in range(2)]
    out["actors"] = ray.get([a.info.remote() for a in actors], timeout=300)
else:
    try:
        out["task"] = ray.get(use.options(runtime_env=env).remote(), timeout=300)
    except Exception as exc:
        out["error"] = f"{type(exc).__name__}: {exc}"
print(json.dumps(out))
'''


@pytest.fixture(scope="module")
def bare_cluster() -> Iterator[Cluster]:
    """Its own cluster, not the session's ``bare_node_cluster``: these tests count the builds
    that worker starts make, and a raylet that earlier drivers used starts workers (and
    builds) these tests did not ask for (measured: one extra build each, issue #13)."""
    cluster = start_cluster(bare_venv())
    yield cluster
    cluster.stop()


def drive(cluster: Cluster, fields: Any, root: Path, folder: Path,
          *args: str) -> dict[str, Any]:
    """A new driver process with ``fields`` (plus the env root) as the stage's runtime_env."""
    folder.mkdir(parents=True, exist_ok=True)
    env = {**fields, "env_vars": {"OPSHUB_NODE_ENV_DIR": str(root)}}
    (folder / "env.json").write_text(json.dumps(env))
    return dict(run_driver(cluster, DRIVER.replace("sys.argv[2:]", repr(args)), folder, folder))


@pytest.mark.cluster
@pytest.mark.slow
@pytest.mark.network
def test_two_actors_then_a_second_driver_share_one_build(
    bare_cluster: Cluster, small_lock: list[str], tool: NodeTool, node_root: Path,
    tmp_path: Path
) -> None:
    # another spec than the builder tests' (an empty extra find-links folder): a new env
    root = node_root
    fields = node_env(small_lock, install_options=["--find-links", str(tmp_path)], tool=tool)
    before = len(builds(root))
    first = drive(bare_cluster, fields, root, tmp_path / "one", "actors")["actors"]
    assert [(a["tabulate"], a["toolz"], a["impostor"]) for a in first] == [
        ("0.9.0", "1.0.0", False)] * 2
    assert first[0]["pid"] != first[1]["pid"]  # two workers...
    assert first[0]["prefix"] == first[1]["prefix"]  # ...in one env
    assert first[0]["prefix"].startswith(str(root))
    second = drive(bare_cluster, fields, root, tmp_path / "two")["task"]
    assert second == {"prefix": first[0]["prefix"], "tabulate": "0.9.0"}
    made = builds(root)[before:]  # one build for 2 actors and 2 drivers
    assert [(b["ok"], b["key"]) for b in made] == [(True, Path(first[0]["prefix"]).name)]


@pytest.mark.cluster
@pytest.mark.slow
@pytest.mark.network
def test_a_wrong_hash_fails_fast_with_one_error_naming_the_package(
    bare_cluster: Cluster, small_lock: list[str], tool: NodeTool, node_root: Path,
    tmp_path: Path
) -> None:
    bad = [re.sub(r"sha256:[0-9a-f]{64}", "sha256:" + "0" * 64, line)
           if line.startswith("tabulate") else line for line in small_lock]
    root, before, existing = node_root, len(builds(node_root)), envs(node_root)
    started = time.monotonic()
    out = drive(bare_cluster, node_env(bad, install_options=[], tool=tool), root, tmp_path / "d")
    assert "error" in out, out
    assert "NodeEnvBuildError" in out["error"] and "tabulate" in out["error"]
    assert "failed to build on this node" in out["error"] and "ash" in out["error"]
    assert time.monotonic() - started < 120  # an error, not a task PENDING forever
    assert envs(root) == existing, "the partial env was not removed"
    assert [b["ok"] for b in builds(root)[before:]] == [False]


def impostor_wheel(folder: Path, name: str, version: str) -> Path:
    """A tiny valid wheel named like a real package (``IMPOSTOR`` marks its module)."""
    module, info = name.replace("-", "_"), f"{name.replace('-', '_')}-{version}.dist-info"
    files = {f"{module}/__init__.py": f"__version__ = {version!r}\nIMPOSTOR = True\n",
             f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
             f"{info}/WHEEL": "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
             f"{info}/RECORD": ""}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{module}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for member, text in files.items():
            archive.writestr(member, text)
    return path


@pytest.mark.cluster
@pytest.mark.slow
@pytest.mark.network
def test_a_higher_version_on_a_second_index_is_never_installed(
    bare_cluster: Cluster, small_lock: list[str], tool: NodeTool, node_root: Path,
    tmp_path: Path
) -> None:
    second_index = tmp_path / "second-index"
    for name, version in [("toolz", "99.0.0"), ("tabulate", "99.0.0"), ("toolz", "1.0.0")]:
        impostor_wheel(second_index, name, version)  # higher, and the same version
    root = node_root
    fields = node_env(small_lock, install_options=["--find-links", str(second_index)],
                      tool=tool)
    actors = drive(bare_cluster, fields, root, tmp_path / "d", "actors")["actors"]
    assert [(a["tabulate"], a["toolz"], a["impostor"]) for a in actors] == [
        ("0.9.0", "1.0.0", False)] * 2
