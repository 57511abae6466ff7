"""The JSON API the CLI uses: health, search, project info (pure functions over records)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from itertools import groupby
from typing import Any

from packaging.version import Version

from ..metadata import searched_texts
from ._storage import FileRecord

FileUrl = Callable[[FileRecord], str]


def by_project(records: Iterable[FileRecord]) -> dict[str, list[FileRecord]]:
    """Records grouped by project, projects sorted by name (each keeps the records' order)."""
    projects: dict[str, list[FileRecord]] = defaultdict(list)
    for record in records:
        projects[record.project].append(record)
    return dict(sorted(projects.items()))


def versions_of(files: Sequence[FileRecord]) -> list[list[FileRecord]]:
    """A project's files grouped by version, newest version first."""
    ordered = sorted(files, key=lambda f: Version(f.version), reverse=True)
    return [list(group) for _, group in groupby(ordered, key=lambda f: Version(f.version))]


def latest(files: Sequence[FileRecord]) -> list[FileRecord]:
    """The files of the newest version that is not yanked (of the newest if all are)."""
    versions = versions_of(files)
    return next((v for v in versions if not v[0].yanked), versions[0])


def project_info(project: str, files: Sequence[FileRecord], url: FileUrl,
                 readme: tuple[str, str] | None = None) -> dict[str, Any]:
    """``GET /api/projects/{name}``: every version with its operators and requirements;
    ``readme`` is (version, text): the one README the answer carries (issue 11: READMEs
    are up to 1 MiB each, and `hub install` asks for projects on its way to pip)."""
    versions = [_version_info(group, url) for group in versions_of(files)]
    for info in versions:
        if readme is not None and info["version"] == readme[0]:
            info["readme"] = readme[1]
    return {"name": project, "latest": latest(files)[0].version, "versions": versions}


def _version_info(group: list[FileRecord], url: FileUrl) -> dict[str, Any]:
    first = group[0]
    return {
        "version": first.version,
        "summary": first.summary,
        "keywords": first.keywords,
        "requires_dist": first.requires_dist,
        "requires_python": first.requires_python,
        "yanked": first.yanked,
        "yanked_reason": first.yanked_reason,
        "upload_time": min(f.upload_time for f in group),
        "readme_content_type": first.readme_content_type,
        "operators": first.operators,
        "files": [
            {"filename": f.filename, "url": url(f), "sha256": f.sha256, "size": f.size,
             "upload_time": f.upload_time, "metadata_sha256": f.metadata_sha256}
            for f in group
        ],
    }


def search(query: str, projects: dict[str, list[FileRecord]]) -> dict[str, Any]:
    """``GET /api/search?q=``: projects whose latest version matches every word of the query.

    A word matches the name, summary, a keyword, or an operator's name or a field that
    :mod:`hub.metadata` marks searched (its description) (case-insensitive);
    an empty query lists every project. Name matches rank first.
    """
    words = query.lower().split()
    results = []
    for files in projects.values():
        record = latest(files)[0]
        if _matches(words, record):
            results.append(_search_result(record))
    results.sort(key=lambda r: (not all(w in r["name"] for w in words), r["name"]))
    return {"query": query, "results": results}


def _matches(words: list[str], record: FileRecord) -> bool:
    """Whether every word is in some searched field (the fields read once per record)."""
    if not words:
        return True
    fields = [field.lower() for field in (
        record.project, record.summary, *record.keywords,
        *(text for op in record.operators
          for text in (str(op.get("name", "")), *searched_texts(op))))]
    return all(any(word in field for field in fields) for word in words)


def _search_result(record: FileRecord) -> dict[str, Any]:
    return {
        "name": record.project,
        "version": record.version,
        "summary": record.summary,
        "keywords": record.keywords,
        "operators": [str(op.get("name", "")) for op in record.operators],
    }
