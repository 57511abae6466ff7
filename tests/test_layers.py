"""The packages are layers, and the imports show it (issue #13, item 2).

    core hub  <-  runtime_env  <-  pipeline, server, cli, mirror / bundle / install

- the core (``hub`` less the modules of the top layer) imports neither runtime_env nor a
  top-layer module; only ``hub/__init__`` may, lazily (inside ``__getattr__``, or for type
  checkers), to re-export DataCollection and runtime_env's errors;
- runtime_env imports hub's public modules only, and none of the top layer's;
- the top layer uses runtime_env's public modules only (``runtime_env``, ``runtime_env.mirror``).

Every import counts, at any depth: a lazy import inside a function is still a dependency.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("hub", "runtime_env")
# hub's top layer: the modules that may build on runtime_env.
TOP = ("hub.pipeline", "hub.server", "hub.cli", "hub.__main__", "hub._mirror", "hub._bundling",
       "hub._fetch", "hub._install", "hub._pip_install")


@dataclass(frozen=True)
class Edge:
    """One import: the importing module, the imported one, and whether it is a lazy
    re-export (hub/__init__'s ``__getattr__`` or its ``if TYPE_CHECKING`` block)."""

    source: str
    target: str
    line: int
    lazy: bool = False

    def __str__(self) -> str:
        return f"{self.source} imports {self.target} (line {self.line})"


def modules() -> dict[str, Path]:
    """Every module of the two packages by dotted name."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


@cache
def edges() -> tuple[Edge, ...]:
    """Every import of hub or runtime_env by a module of either."""
    return tuple(_edges(modules()))


def _edges(known: dict[str, Path]) -> Iterator[Edge]:
    for name, path in known.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        tree = ast.parse(path.read_text(), str(path))
        lazy_lines = _lazy_lines(tree) if name == "hub" else set()
        for node in ast.walk(tree):
            for target in _targets(node, package, known):
                if target.split(".")[0] in PACKAGES:
                    yield Edge(name, target, node.lineno, node.lineno in lazy_lines)


def _targets(node: ast.AST, package: str, known: dict[str, Path]) -> list[str]:
    """The modules an import statement loads (``from a import b``: ``a.b`` if a module)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    base = node.module or ""
    if node.level:
        parent = package.split(".")[: len(package.split(".")) - node.level + 1]
        base = ".".join([*parent, *([node.module] if node.module else [])])
    return [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]


def _lazy_lines(tree: ast.Module) -> set[int]:
    """The lines of hub/__init__'s lazy re-exports."""
    blocks = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "__getattr__"]
    blocks += [n for n in tree.body if isinstance(n, ast.If) and ast.unparse(n.test)
               == "TYPE_CHECKING"]
    return {inner.lineno for block in blocks for inner in ast.walk(block)
            if isinstance(inner, (ast.Import, ast.ImportFrom))}


def in_top(module: str) -> bool:
    return any(module == top or module.startswith(top + ".") for top in TOP)


def is_public(module: str) -> bool:
    return not any(part.startswith("_") and not part.startswith("__")
                   for part in module.split("."))


def test_the_core_imports_neither_runtime_env_nor_the_top_layer() -> None:
    wrong = [str(e) for e in edges() if e.source.startswith("hub.") or e.source == "hub"
             if not in_top(e.source) and not e.lazy
             and (e.target.startswith("runtime_env") or in_top(e.target))]
    assert wrong == []


def test_the_core_re_exports_lazily_only_the_client_pipeline_and_runtime_envs_face() -> None:
    """`import hub` stays light: requests, Ray and runtime_env load on first use."""
    lazy = {e.target for e in edges() if e.lazy}
    assert lazy == {"hub.client", "hub.pipeline", "runtime_env"}


def test_runtime_env_uses_only_hubs_public_core() -> None:
    wrong = [str(e) for e in edges() if e.source.startswith("runtime_env")
             and e.target.startswith("hub") and (not is_public(e.target) or in_top(e.target))]
    assert wrong == []


def test_the_top_layer_uses_only_runtime_envs_public_modules() -> None:
    wrong = [str(e) for e in edges() if e.source.startswith("hub")
             and e.target.startswith("runtime_env") and not is_public(e.target)]
    assert wrong == []


def test_the_scan_sees_lazy_and_type_checking_imports() -> None:
    """The rules above are only as good as the scan: it finds imports inside functions
    and ``if TYPE_CHECKING`` blocks, relative ones resolved."""
    found = {(e.source, e.target) for e in edges()}
    assert ("hub._mirror", "runtime_env.mirror") in found  # inside a function
    assert ("hub._bundling", "runtime_env") in found  # if TYPE_CHECKING
    assert ("hub.cli.install_cmd", "hub._install") in found  # from .._install import ...
    assert ("hub", "hub.pipeline") in found  # the lazy DataCollection
