"""The node side of ``node_env``: build a hash-pinned venv once per node, then run the worker in it.

Stdlib only: it runs on a Ray node that has nothing but ``ray[default]``, in the node's own
Python, *before* the Ray worker process exists (the ``py_executable`` that ``node_env`` emits
starts it with the worker's arguments). Steps:

1. key = sha256(spec, this interpreter, this Ray); env = ``<root>/<key>`` (root:
   ``$OPSHUB_NODE_ENV_DIR``, else ``$XDG_CACHE_HOME/opshub/node-envs``, else
   ``~/.cache/opshub/node-envs``). Kept across drivers, jobs and cluster sessions.
2. Ready (its marker exists): exec the env's Python with the worker's arguments.
3. Not ready: one builder per node (``flock``) in its own session, so the raylet's
   60 s kill of a worker that has not registered does not kill the build (measured: it kills
   and restarts such a worker forever). It fetches the pinned uv once per node (the one
   wheel the driver picked for it, sha256-checked as it streams; no pip), creates a venv
   over this interpreter whose ``.pth`` appends the node's site dirs (Ray stays the node's
   own), and runs ``uv pip install --require-hashes --no-deps --no-build`` of the lines the
   node does not already have at that exact version.
4. Failure: the partial env is removed, the failure is recorded (retried after
   ``RETRY_AFTER_S``), and the worker starts without the env, where importing a module it
   cannot find raises ``NodeEnvBuildError`` with the cause. A worker that never starts would
   leave the task PENDING forever (ray#59342; measured with a failing ``py_executable``).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import importlib.abc
import importlib.metadata
import importlib.util
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time
import urllib.request
import zipfile
import zlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, NoReturn

FORMAT = 1
RETRY_AFTER_S = 60.0  # a failed build is not retried by every worker that starts meanwhile
READY = ".opshub-ready"
# Run with `python -c BOOT SOURCE SPEC WORKER_ARGS...`: SOURCE is this file, compressed.
BOOT = ("import base64,sys,zlib;s=sys.argv.pop(1);exec(compile(zlib.decompress("
        "base64.b64decode(s)),'opshub_node_env','exec'),{'__name__':'__main__','_SOURCE':s})")


class NodeEnvBuildError(ModuleNotFoundError):
    """Raised in a worker when a module is missing because its node env failed to build."""


def encode(data: bytes) -> str:
    """The argument form of SOURCE and SPEC: zlib, then base64 (no shell metacharacters)."""
    return base64.b64encode(zlib.compress(data, 9)).decode()


def decode(text: str) -> bytes:
    return zlib.decompress(base64.b64decode(text))


def main(argv: Sequence[str]) -> NoReturn:
    """``argv``: SPEC, then the worker's command line (``default_worker.py ...``)."""
    if argv[0] == "--build":
        sys.exit(build(json.loads(decode(argv[1]))))
    spec, worker = json.loads(decode(argv[0])), list(argv[1:])
    env = env_dir(spec)
    if not (env / READY).exists():
        _run_builder(argv[0])
    if (env / READY).exists():
        _exec_in(env, worker)
    _run_without_env(_failure(env) or f"the build of {env} left no env", worker)


# --- where envs live ------------------------------------------------------------------------


def env_root() -> Path:
    """The folder of this node's envs (one per key), kept across Ray sessions."""
    explicit = os.environ.get("OPSHUB_NODE_ENV_DIR")
    if explicit:
        return Path(explicit)
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "opshub" / "node-envs"


def env_dir(spec: dict[str, Any]) -> Path:
    """The env for ``spec`` on this interpreter and this Ray installation."""
    ray = importlib.util.find_spec("ray")
    identity = {"spec": spec, "python": sys.executable, "version": sys.version,
                "ray": ray.origin if ray else None}
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode())
    return env_root() / digest.hexdigest()[:24]


def _failure(env: Path) -> str | None:
    """The recorded message of a recent failed build of ``env``, if any."""
    record = env.with_name(env.name + ".failed")
    try:
        data = json.loads(record.read_text())
    except (OSError, ValueError):
        return None
    return str(data["message"]) if time.time() - data["time"] < RETRY_AFTER_S else None


# --- the worker side --------------------------------------------------------------------------


def _run_builder(spec_arg: str) -> None:
    """Build in a child in its own session (survives the raylet killing this process)."""
    root = env_root()
    root.mkdir(parents=True, exist_ok=True)
    if "_SOURCE" in globals():
        me = [sys.executable, "-c", BOOT, globals()["_SOURCE"]]
    else:
        me = [sys.executable, os.path.abspath(__file__)]
    with open(root / "builder.log", "ab") as log:
        subprocess.run([*me, "--build", spec_arg], stdout=log, stderr=log, check=False,
                       start_new_session=True, stdin=subprocess.DEVNULL)


def _exec_in(env: Path, worker: list[str]) -> NoReturn:
    """Replace this process with the env's Python running the worker (like `activate`)."""
    python = str(env / "bin" / "python")
    os.environ["VIRTUAL_ENV"] = str(env)
    os.environ["PATH"] = os.pathsep.join([str(env / "bin"), os.environ.get("PATH", "")])
    os.execv(python, [python, *worker])


class _Explain(importlib.abc.MetaPathFinder):
    """Last on ``sys.meta_path``: a module nobody found was meant to come from the env."""

    def __init__(self, message: str) -> None:
        self.message = message

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        # an `import` statement, not a probe such as importlib.util.find_spec (returns None)
        importing = sys._getframe(2).f_code.co_name == "_find_and_load_unlocked"
        if importing and "." not in fullname:
            raise NodeEnvBuildError(f"No module named {fullname!r}: {self.message}",
                                    name=fullname)


def _run_without_env(message: str, worker: list[str]) -> NoReturn:
    import runpy

    sys.meta_path.append(_Explain(message))
    sys.argv, sys.path[0] = worker, os.path.dirname(worker[0])
    runpy.run_path(worker[0], run_name="__main__")
    sys.exit(0)


# --- the builder (one per node and key, under a file lock) ------------------------------------


def build(spec: dict[str, Any]) -> int:
    """Build the env for ``spec`` unless it is ready or failed recently; 0 when it is ready."""
    env = env_dir(spec)
    with _locked(env.with_name(env.name + ".lock")):
        if (env / READY).exists() or _failure(env):
            return 0 if (env / READY).exists() else 1
        started = time.monotonic()
        try:
            steps = _build_env(spec, env)
        except Exception as exc:  # noqa: BLE001 - any failure: no partial env, one message
            shutil.rmtree(env, ignore_errors=True)
            _record(env, {"ok": False, "seconds": time.monotonic() - started},
                    failure=f"opshub node env {env.name} failed to build on this node: {exc}")
            return 1
        _record(env, {"ok": True, "seconds": time.monotonic() - started, "steps": steps})
    return 0


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released by the kernel if this process dies
        yield


def _record(env: Path, entry: dict[str, Any], failure: str | None = None) -> None:
    """Append to ``builds.log`` (one JSON line per build) and mark the env ready or failed."""
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
    entry = {"key": env.name, "pid": os.getpid(), "time": time.time(), "peak_kib": peak, **entry}
    if failure is None:
        (env / READY).write_text(json.dumps(entry))
        env.with_name(env.name + ".failed").unlink(missing_ok=True)
    else:
        entry["message"] = failure
        env.with_name(env.name + ".failed").write_text(json.dumps(entry))
    with open(env.parent / "builds.log", "a") as log:
        log.write(json.dumps(entry) + "\n")


def _build_env(spec: dict[str, Any], env: Path) -> dict[str, float]:
    """Build ``env``; returns the seconds of each step (for ``builds.log``)."""
    shutil.rmtree(env, ignore_errors=True)  # a build killed half-way
    steps: dict[str, float] = {}
    lines = _to_install(spec["requirements"], _node_distributions())
    started = time.monotonic()
    uv = _uv_tool(env.parent, spec["tool"])
    steps["tool"] = time.monotonic() - started
    _run(steps, "uv venv", [uv, "venv", "--quiet", "--no-config", "--python", sys.executable,
                            str(env)])
    python = env / "bin" / "python"
    _add_node_site(python)
    if lines:
        requirements = env / "opshub-requirements.txt"
        requirements.write_text("\n".join(lines) + "\n")
        cache = os.environ.get("UV_CACHE_DIR") or str(env.parent / "cache")
        _run(steps, "uv pip install", install_command(
            uv, python, cache, spec["install_options"], requirements), env=installer_env())
    _check_ray(python)
    return steps


def install_command(uv: str, python: str | os.PathLike[str], cache: str,
                    options: Sequence[str], requirements: str | os.PathLike[str]) -> list[str]:
    """The install of a hash-pinned lock into an env (the benchmarks' baseline runs it too):
    exactly the lines, hash-checked, from wheels; the sources only from ``options``."""
    # Every line is hash-pinned, so any index may serve the file; uv's default
    # first-index would fail on an index that has the name but not the pinned version
    # (a partial mirror given as an extra index, as pip.conf often does).
    return [uv, "pip", "install", "--quiet", "--no-config", "--python", str(python),
            "--require-hashes", "--no-deps", "--no-build", "--cache-dir", cache,
            "--index-strategy", "unsafe-best-match", *options, "-r", str(requirements)]


def _run(steps: dict[str, float], what: str, command: list[str],
         **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run one step of a build; raises with its output's tail when it fails."""
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          check=False, **kwargs)
    steps[what] = steps.get(what, 0.0) + time.monotonic() - started
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip()[-1500:]
        raise RuntimeError(f"`{what}` exited {done.returncode}: {tail}")
    return done


_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(==|@)\s*([^\s;]+)")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _node_distributions() -> dict[str, str]:
    """This node's installed distributions (its default sys.path): name -> version."""
    return {_canonical(d.metadata["Name"]): d.version
            for d in importlib.metadata.distributions(path=_default_path(sys.executable))
            if d.metadata["Name"]}


def _to_install(lines: Sequence[str], installed: dict[str, str]) -> list[str]:
    """The lock lines the node lacks; refuses any that would replace Ray or what it runs on."""
    closure = _ray_closure()
    wanted = []
    for line in lines:
        match = _NAME.match(line)
        if match is None:
            raise ValueError(f"lock line {line!r} is not `name==version --hash=...`")
        name, op, version = _canonical(match[1]), match[2], match[3]
        if op == "==" and installed.get(name) == version:
            continue  # the node's own copy, at the locked version
        if name in closure:
            raise ValueError(
                f"the lock sets {name} {version}, but Ray needs the node's {name} "
                f"{installed.get(name)}; lock with Ray's closure as constraints")
        wanted.append(line)
    return wanted


def _ray_closure() -> set[str]:
    """``ray[default]`` and everything it requires, as installed on this node."""
    seen, todo = set(), [("ray", {"default"})]
    while todo:
        name, extras = todo.pop()
        if name in seen:
            continue
        try:
            requires = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        seen.add(name)
        for req in requires:
            extra = re.search(r"extra\s*==\s*['\"]([^'\"]+)['\"]", req)
            if extra is None or extra[1] in extras:
                todo.append((_canonical(re.split(r"[\s\[<>=!~;(@]", req, maxsplit=1)[0]), set()))
    return seen


def _default_path(python: str | os.PathLike[str]) -> list[str]:
    """``sys.path`` of ``python`` started plainly (no PYTHONPATH: that is per job)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    done = _run({}, f"{python} -c 'import sys'",
                [str(python), "-c", "import sys,json;print(json.dumps(sys.path))"],
                env=env, cwd="/")
    return [p for p in json.loads(done.stdout) if p and os.path.isdir(p)]


def _add_node_site(python: Path) -> None:
    """Append the node's site dirs to the env's ``sys.path`` (after the env's own)."""
    own = _default_path(python)
    node = [p for p in _default_path(sys.executable) if p not in own]
    site = Path(next(p for p in own if p.startswith(str(python.parent.parent))))
    (site / "_opshub_node_site.pth").write_text("".join(p + "\n" for p in node))


def _check_ray(python: Path) -> None:
    """The env imports the node's own Ray (same file, same version)."""
    code = ("import importlib.metadata as m,importlib.util as u,json;"
            "print(json.dumps([u.find_spec('ray').origin, m.version('ray')]))")
    done = _run({}, "ray check", [str(python), "-c", code], cwd="/")
    ray = importlib.util.find_spec("ray")
    node = [ray.origin if ray else None, importlib.metadata.version("ray")]
    if json.loads(done.stdout) != node:
        raise RuntimeError(f"the env would change Ray ({done.stdout.strip()} instead of {node})")


# --- the uv tool (once per node) ----------------------------------------------------------------

_TOOL = re.compile(r"^uv-([0-9][0-9A-Za-z.+!_]*)-[^/]+\.whl$")


def _uv_tool(root: Path, tool: dict[str, Any]) -> str:
    """The pinned uv's binary, fetched once per node from ``tool`` (its wheel's filename,
    URL and the sha256 it may have)."""
    match = _TOOL.match(tool["filename"])
    if match is None:
        raise ValueError(f"the tool {tool['filename']!r} is not a uv wheel's filename")
    folder = root / "tools" / f"uv-{match[1]}"
    with _locked(root / "tools.lock"):
        if not (folder / "bin" / "uv").exists():
            _fetch_tool(tool, f"uv-{match[1]}.data/scripts/uv", folder)
    return str(folder / "bin" / "uv")


def _fetch_tool(tool: dict[str, Any], member: str, folder: Path) -> None:
    """Download and unpack into a partial folder, renamed when complete: a fetch that fails
    leaves nothing, one that is killed a partial folder the next one removes."""
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        (partial / "bin").mkdir(parents=True)
        _download(tool, partial / "uv.whl")
        _unpack(partial / "uv.whl", member, partial / "bin" / "uv", tool["filename"])
        (partial / "uv.whl").unlink()
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(partial, folder)
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def _download(tool: dict[str, Any], path: Path) -> None:
    """Stream the tool's wheel to ``path`` (http(s) through the node's proxy variables, as
    urllib reads them; file:// or a plain path from disk), checking its sha256."""
    url, digest = tool["url"], hashlib.sha256()
    try:
        with _open(url) as source, open(path, "wb") as out:
            while chunk := source.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
    except (OSError, ValueError) as exc:  # URLError and HTTPError are OSErrors
        raise RuntimeError(f"cannot fetch {tool['filename']} from {url} ({exc}); the "
                           "node must reach the sources the driver found it in") from None
    if digest.hexdigest() not in tool["hashes"]:
        raise RuntimeError(f"{tool['filename']} from {url} has sha256 {digest.hexdigest()}, "
                           "not one the pinned uv has: that source serves other bytes than "
                           "were pinned; fix or drop it")


def _open(url: str) -> IO[bytes]:
    if "://" not in url:
        return open(url, "rb")
    response: IO[bytes] = urllib.request.urlopen(url, timeout=60)  # http(s), file://
    return response


def _unpack(wheel: Path, member: str, path: Path, filename: str) -> None:
    """Extract the uv binary from its (hash-checked) wheel, executable."""
    try:
        with zipfile.ZipFile(wheel) as archive, archive.open(member) as source, \
                open(path, "wb") as out:
            shutil.copyfileobj(source, out, 1 << 20)
    except (KeyError, zipfile.BadZipFile) as exc:
        raise RuntimeError(f"the uv wheel {filename} has no {member} ({exc}); pin a wheel "
                           "of uv's own") from None
    path.chmod(0o755)


# The spec's index options are the whole truth of a build: the node's own index variables
# (say, a mirror that is down, issue #14) and config files (pip.conf, uv.toml) must not reach
# the installers. Stripping PIP_* alone would bring back pip.conf's find-links: pip reads no
# file with PIP_CONFIG_FILE=os.devnull, uv none with UV_NO_CONFIG. uv 0.13.9 even lets
# UV_DEFAULT_INDEX win over an explicit --index-url (measured). The driver's resolvers and
# `hub install` run under the same rule (``installer_env``).
SOURCE_VARIABLES = ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_NO_INDEX",
                    "UV_INDEX", "UV_INDEX_URL", "UV_DEFAULT_INDEX", "UV_EXTRA_INDEX_URL",
                    "UV_FIND_LINKS", "UV_NO_INDEX", "UV_INDEX_STRATEGY", "UV_TORCH_BACKEND",
                    "UV_CONFIG_FILE")


def installer_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """``environ`` (default: this process's) without any package source but the options a
    command gives: no index variable, no pip or uv config file."""
    base = os.environ if environ is None else environ
    kept = {k: v for k, v in base.items() if k not in SOURCE_VARIABLES}
    return {**kept, "PIP_CONFIG_FILE": os.devnull, "UV_NO_CONFIG": "1"}


if __name__ == "__main__":
    main(sys.argv[1:])
