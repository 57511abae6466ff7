"""Near-duplicate finding and reverse image search over a folder of images, on Ray.

Each image is decoded (`image-decode`) and embedded (`image-embed`, EfficientNet-Lite0)
in a DataCollection whose stages run on Ray: the decode is fused into the calls of a
pool of Ray actors that each load the model once, so decoded images never leave the
worker. Then every image's nearest neighbours are printed with their cosine similarity.

    hub install image-decode image-embed
    python examples/image_search.py                  # a sample folder made from scikit-image
    python examples/image_search.py --images ~/photos --top 5
    python examples/image_search.py --address auto   # on a running Ray cluster

Without --images it makes a sample folder: five distinct pictures that ship with
scikit-image, plus resized, cropped and re-encoded copies of three of them, so each
copy should find its original first, far above every other picture.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np

from hub import DataCollection, ops

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp"}
SAMPLES = ("chelsea", "coffee", "astronaut", "rocket", "camera")


def make_sample_images(folder: Path) -> Path:
    """Write distinct pictures and near copies of some of them into `folder`."""
    from PIL import Image
    from skimage import data  # ships these pictures: nothing is downloaded

    folder.mkdir(parents=True, exist_ok=True)
    pictures = {name: Image.fromarray(getattr(data, name)()) for name in SAMPLES}
    for name, picture in pictures.items():
        picture.save(folder / f"{name}.png")
    cat, cup, rocket = pictures["chelsea"], pictures["coffee"], pictures["rocket"]
    cat.resize((cat.width // 2, cat.height // 2)).save(folder / "chelsea-half-size.png")
    cup.crop((30, 20, cup.width - 30, cup.height - 20)).save(folder / "coffee-cropped.png")
    rocket.save(folder / "rocket-reencoded.jpg", quality=60)
    return folder


def image_files(folder: Path) -> list[Path]:
    """The image files directly in `folder`, sorted by name."""
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise SystemExit(f"no images in {folder} (looked for {', '.join(sorted(IMAGE_SUFFIXES))})")
    return files


def embed_images(paths: list[Path], workers: int, backend: str) -> np.ndarray:
    """Decode and embed the images in a pipeline: one unit vector per image.

    Each Ray stage gets its operator's runtime_env from opshub: none on a local Ray
    started from this environment (it has everything), a pinned pip env on a cluster
    node that lacks the operator or its requirements.
    """
    collection = DataCollection(paths)
    if backend != "local":  # the local backend is the caller's thread: one worker
        collection = collection.set_parallel(num_worker=workers, backend=backend)
    # image-decode asks half a CPU per task; two embed actors of half a CPU each fit beside
    # it on a two-CPU machine (of a whole CPU each, only one would: the plan would warn)
    share = {"num_cpus": 0.5} if backend == "ray" else {}
    vectors = collection.map(ops.image_decode()).map(ops.image_embed(), **share)
    return np.stack(vectors.to_list())


def print_neighbours(names: list[str], vectors: np.ndarray, top: int) -> None:
    """Each image's `top` nearest other images, with cosine similarities."""
    similarity = vectors @ vectors.T  # cosine: the embeddings are unit vectors
    width = max(map(len, names))
    for i, name in enumerate(names):
        order = [j for j in np.argsort(-similarity[i]) if j != i][:top]
        neighbours = "   ".join(f"{names[j]:<{width}} {similarity[i, j]:.3f}" for j in order)
        print(f"{name:<{width}}  ->  {neighbours}")


def print_duplicates(names: list[str], vectors: np.ndarray, threshold: float) -> None:
    """Pairs of images at least `threshold` similar: the near-duplicates."""
    similarity = vectors @ vectors.T
    pairs = [(similarity[i, j], names[i], names[j]) for i in range(len(names))
             for j in range(i + 1, len(names)) if similarity[i, j] >= threshold]
    print(f"\nnear-duplicates (cosine >= {threshold}):")
    for score, a, b in sorted(pairs, reverse=True):
        print(f"  {score:.3f}  {a}  ~  {b}")
    if not pairs:
        print("  none")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=Path, help="a folder of images (default: samples)")
    parser.add_argument("--top", type=int, default=3, help="neighbours shown per image")
    parser.add_argument("--threshold", type=float, default=0.85, help="near-duplicate cosine")
    parser.add_argument("--workers", type=int, default=2, help="Ray tasks/actors per stage")
    parser.add_argument("--backend", default="ray", choices=["ray", "thread", "local"])
    parser.add_argument("--address", help="a Ray cluster to join, e.g. 'auto' "
                        "(default: RAY_ADDRESS, else a new local Ray)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="image-search-") as tmp:
        folder = args.images or make_sample_images(Path(tmp) / "images")
        paths = image_files(folder)
        source = folder if args.images else "scikit-image's sample pictures"
        print(f"embedding {len(paths)} images from {source} on {args.backend} ...", flush=True)
        address = args.address or os.environ.get("RAY_ADDRESS") or "local"
        if args.backend == "ray":
            import ray

            local = {"_node_ip_address": "127.0.0.1"} if address == "local" else {}
            ray.init(address=address, include_dashboard=False, log_to_driver=False, **local)
        vectors = embed_images(paths, args.workers, args.backend)
    names = [p.name for p in paths]
    print_neighbours(names, vectors, args.top)
    print_duplicates(names, vectors, args.threshold)


if __name__ == "__main__":
    main()
