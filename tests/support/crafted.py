"""Crafted operator wheels: small and valid by default; a test edits the members to break one."""

from __future__ import annotations

import zipfile
from pathlib import Path

PLUGIN = b"""import hub


@hub.hookimpl
def register_operators(register):
    register("%(op)s", "%(module)s.impl:run", description="Crafted for tests.", num_cpus=0.5)
"""


def wheel_files(name: str = "opshub-demo", version: str = "1.0", **metadata: str) -> dict[str, bytes]:
    """The members of a small valid operator wheel (edit the dict to break it)."""
    module = name.replace("-", "_").lower()
    dist_info = f"{module}-{version}.dist-info"
    headers = {"Metadata-Version": "2.1", "Name": name, "Version": version,
               "Summary": "A crafted operator.", **metadata}
    meta = "".join(f"{k}: {v}\n" for k, v in headers.items()) + "\nThe README card.\n"
    return {
        f"{module}/__init__.py": b"",
        f"{module}/plugin.py": PLUGIN % {b"op": name.encode(), b"module": module.encode()},
        f"{module}/impl.py": b"def run(x):\n    return x\n",
        f"{dist_info}/METADATA": meta.encode(),
        f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\n"
                              b"Tag: py3-none-any\n",
        f"{dist_info}/entry_points.txt": f"[opshub.operators]\n{name} = {module}.plugin\n".encode(),
        f"{dist_info}/RECORD": b"",
    }


def write_wheel(
    folder: Path, files: dict[str, bytes], filename: str | None = None,
    compression: int = zipfile.ZIP_DEFLATED,
) -> Path:
    """Zip ``files`` into ``folder/filename`` (default: derived from the dist-info folder)."""
    if filename is None:
        dist_info = next(m.split("/")[0] for m in files if ".dist-info/" in m)
        filename = dist_info.removesuffix(".dist-info") + "-py3-none-any.whl"
    path = folder / filename
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for member, data in files.items():
            archive.writestr(member, data)
    return path
