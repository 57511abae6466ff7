"""Semantic text search: find the sentences that mean the same as a query.

The corpus is embedded once with `text-embed` (all-MiniLM-L6-v2) in a DataCollection;
each query is embedded too, and the corpus sentences nearest to it by cosine
similarity are printed — matches by meaning, not by shared words.

    hub install text-embed
    python examples/text_search.py                               # sample corpus and queries
    python examples/text_search.py "a pet asleep indoors" --top 2
    python examples/text_search.py --corpus notes.txt "deadline" # one sentence per line
    python examples/text_search.py --backend ray                 # embed the corpus on Ray
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from hub import DataCollection, Operator, ops

CORPUS = [
    "The cat is sleeping on the sofa.",
    "A dog chases a ball across the park.",
    "The central bank raised interest rates again.",
    "Stock prices fell sharply after the announcement.",
    "Knead the dough and let it rise for two hours.",
    "Preheat the oven to 220 degrees before baking the bread.",
    "The striker scored twice in the second half.",
    "The match ended in a draw after extra time.",
    "Heavy rain is expected across the north tomorrow.",
    "A sunny and warm weekend is forecast for the coast.",
    "The new phone has a larger battery and a faster chip.",
    "Update your laptop's operating system to fix the bug.",
]
QUERIES = [
    "a pet napping on the couch",
    "the markets dropped",
    "how to make a loaf at home",
    "football game result",
    "will it be wet later this week?",
]


def embed_corpus(texts: list[str], embedder: Operator, backend: str) -> np.ndarray:
    """One unit vector per text, through a pipeline stage (the model loads once per worker)."""
    collection = DataCollection(texts)
    if backend != "local":
        collection = collection.set_parallel(num_worker=2, backend=backend)
    return np.stack(collection.map(embedder).to_list())  # opshub picks each stage's env


def search(corpus: list[str], vectors: np.ndarray, query: np.ndarray,
           top: int) -> list[tuple[float, str]]:
    """The `top` corpus sentences nearest to `query`: (cosine, sentence)."""
    scores = vectors @ query  # cosine: the embeddings are unit vectors
    return [(float(scores[i]), corpus[i]) for i in np.argsort(-scores)[:top]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("queries", nargs="*", help="what to look for (default: samples)")
    parser.add_argument("--corpus", type=Path, help="a text file, one sentence per line")
    parser.add_argument("--top", type=int, default=3, help="results per query")
    parser.add_argument("--backend", default="local", choices=["local", "thread", "ray"])
    args = parser.parse_args()
    corpus = CORPUS
    if args.corpus:
        corpus = [s.strip() for s in args.corpus.read_text().splitlines() if s.strip()]
    queries = args.queries or QUERIES
    embedder = ops.text_embed()  # in-process, the corpus and the queries share one model
    vectors = embed_corpus(corpus, embedder, args.backend)
    query_vectors = np.stack(embedder.call_batch(queries))
    for query, query_vector in zip(queries, query_vectors, strict=True):
        print(f"\n{query!r}")
        for score, sentence in search(corpus, vectors, query_vector, args.top):
            print(f"  {score:.3f}  {sentence}")


if __name__ == "__main__":
    main()
