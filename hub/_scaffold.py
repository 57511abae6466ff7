"""`hub new`: scaffold a custom operator project from the templates in hub/templates/new/.

The project is a distribution named like the operator, with the entry point, a light
plugin module, the implementation, a test and a README card; `hub publish` accepts it
unchanged and its test passes once it is installed.

>>> scaffold("word-count", kind="class", directory=Path("/tmp"))  # doctest: +SKIP
PosixPath('/tmp/word-count')
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template

from ._exceptions import ScaffoldError
from ._names import normalize_name
from .metadata import RESOURCES, Kind, OperatorMetadata

_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*\Z")
_DESCRIPTION = "A custom operator: replace this with a one-line description."


@dataclass(frozen=True)
class NewProject:
    """What `hub new` will write: names derived from the operator name, and its kind."""

    name: str  # operator and distribution name, e.g. "word-count"
    kind: Kind = "function"

    @classmethod
    def create(cls, name: str, kind: Kind = "function") -> NewProject:
        """Normalize and check the name (``Word_Count`` becomes ``word-count``)."""
        normalized = normalize_name(name.strip())
        if not _NAME.match(normalized):
            raise ScaffoldError(
                f"operator name {name!r} must be lower-case words of letters and digits joined "
                "by dashes, starting with a letter, e.g. 'word-count'"
            )
        return cls(normalized, kind)

    @property
    def package(self) -> str:
        """The import package: ``word_count``."""
        return self.name.replace("-", "_")

    @property
    def attr(self) -> str:
        """The implementation: function ``word_count`` or class ``WordCount``."""
        if self.kind == "class":
            return "".join(part.capitalize() for part in self.name.split("-"))
        return self.package

    def metadata(self) -> OperatorMetadata:
        """The keywords of the plugin's ``register(...)`` call, in order (the README card
        shows the same values)."""
        kind: OperatorMetadata = {"kind": "class", "batch": True} if self.kind == "class" else {}
        return {**kind, "description": _DESCRIPTION, "num_cpus": 1, "inputs": ["text: str"],
                "outputs": ["text: str"]}

    def files(self) -> dict[str, str]:
        """Relative path -> content of every file of the project."""
        values = self._values()
        sources = {
            "pyproject.toml": "pyproject.toml",
            "README.md": "README.md",
            f"{self.package}/__init__.py": "__init__.py",
            f"{self.package}/plugin.py": "plugin.py",
            f"{self.package}/impl.py": f"impl_{self.kind}.py",
            f"tests/test_{self.package}.py": f"test_{self.kind}.py",
        }
        return {path: _render(template, values) for path, template in sources.items()}

    def _values(self) -> dict[str, str]:
        metadata = self.metadata()
        return {
            "name": self.name,
            "package": self.package,
            "attr": self.attr,
            "description": metadata.get("description", ""),
            "register_args": "".join(f"\n        {key}={_literal(value)},"
                                     for key, value in metadata.items()),
            "inputs": ", ".join(f"`{text}`" for text in metadata.get("inputs", ())),
            "outputs": ", ".join(f"`{text}`" for text in metadata.get("outputs", ())),
            "resources": ", ".join(f"`{key}={value}`" for key, value in metadata.items()
                                   if key in RESOURCES),
            "kind_text": "class: constructed once per process or Ray actor; takes batches"
            if self.kind == "class" else "function: one item per call",
        }


def scaffold(name: str, *, kind: Kind = "function", directory: Path = Path(".")) -> Path:
    """Write a new operator project into ``directory/<name>`` and return its path."""
    project = NewProject.create(name, kind)
    root = Path(directory) / project.name
    if root.exists() and any(root.iterdir()):
        raise ScaffoldError(
            f"folder {root} already exists and is not empty; remove it or choose another "
            "place with --dir"
        )
    for relative, content in project.files().items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    return root


def _literal(value: object) -> str:
    """A value as Python source: strings and lists of them in double quotes (JSON's)."""
    return json.dumps(value) if isinstance(value, (str, list)) else repr(value)


def _render(template: str, values: dict[str, str]) -> str:
    source = resources.files("hub").joinpath("templates", "new", f"{template}.tmpl")
    return Template(source.read_text(encoding="utf-8")).substitute(values)
