"""The read-only HTML home page: every project, its versions and its operators."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

from ._api import latest, versions_of
from ._storage import FileRecord


def home_page(projects: Mapping[str, Sequence[FileRecord]], version: str) -> str:
    """One table row per project (newest non-yanked version's summary and operators)."""
    rows = "\n".join(_row(name, files) for name, files in projects.items())
    empty = '<tr><td colspan="4">No operators yet: publish one with `hub publish`.</td></tr>'
    return (
        "<!DOCTYPE html>\n<html>\n<head><meta charset=\"utf-8\"><title>opshub</title></head>\n"
        f"<body>\n<h1>opshub</h1>\n<p>Operator hub {html.escape(version)}. "
        'Install with <code>hub install NAME</code>; pip and uv use '
        '<a href="simple/">simple/</a>.</p>\n'
        "<table border=\"1\" cellpadding=\"4\">\n"
        "<tr><th>project</th><th>operators</th><th>versions</th><th>summary</th></tr>\n"
        f"{rows or empty}\n</table>\n</body>\n</html>\n"
    )


def _row(name: str, files: Sequence[FileRecord]) -> str:
    record = latest(files)[0]
    operators = ", ".join(html.escape(str(op.get("name", ""))) for op in record.operators)
    versions = ", ".join(_version(group[0]) for group in versions_of(files))
    return (f'<tr><td><a href="api/projects/{html.escape(name)}">{html.escape(name)}</a></td>'
            f"<td>{operators}</td><td>{versions}</td><td>{html.escape(record.summary)}</td></tr>")


def _version(record: FileRecord) -> str:
    text = html.escape(record.version)
    return f"<s>{text}</s> (yanked)" if record.yanked else text
