"""`text-embed`: 384-d unit vectors; paraphrases are nearer than unrelated sentences."""

from __future__ import annotations

import numpy as np
import pytest

import hub

pytestmark = pytest.mark.slow  # loads all-MiniLM-L6-v2 (once per session)

PAIRS = [  # (sentence, its paraphrase); the pairs are about unrelated things
    ("A man is playing a guitar.", "Someone is strumming a guitar."),
    ("The stock market fell sharply today.", "Share prices dropped a lot today."),
    ("How do I bake sourdough bread at home?", "What is a good home recipe for sourdough?"),
    ("The cat is sleeping on the sofa.", "A kitten naps on the couch."),
]


def test_embeddings_are_384_d_unit_float32(text_embed: hub.Operator) -> None:
    vectors = text_embed.call_batch(["hello world", ""])
    assert [v.shape for v in vectors] == [(384,), (384,)]
    assert all(v.dtype == np.float32 for v in vectors)
    assert np.allclose([np.linalg.norm(v) for v in vectors], 1.0, atol=1e-5)


def test_paraphrases_are_nearer_than_unrelated_sentences(text_embed: hub.Operator) -> None:
    firsts = np.stack(text_embed.call_batch([a for a, _ in PAIRS]))
    seconds = np.stack(text_embed.call_batch([b for _, b in PAIRS]))
    similarity = firsts @ seconds.T
    assert list(similarity.argmax(axis=1)) == list(range(len(PAIRS)))
    unrelated = similarity[~np.eye(len(PAIRS), dtype=bool)]
    assert similarity.diagonal().min() > 0.5 and unrelated.max() < 0.3


def test_one_item_and_a_batch_agree(text_embed: hub.Operator) -> None:
    texts = [a for a, _ in PAIRS]
    assert np.allclose(text_embed(texts[2]), text_embed.call_batch(texts)[2], atol=1e-5)


def test_a_non_text_is_an_error_naming_the_item(text_embed: hub.Operator) -> None:
    with pytest.raises(TypeError, match=r"text 1: a bytes is not a text; pass str items"):
        text_embed.call_batch(["fine", b"raw bytes"])
