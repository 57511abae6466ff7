"""Names as PEP 503 normalizes them: projects, distributions and operators alike."""

from __future__ import annotations

import re


def normalize_name(name: str) -> str:
    """PEP 503 normalisation: ``Image_Embed`` and ``image.embed`` are ``image-embed``."""
    return re.sub(r"[-_.]+", "-", name).lower()
