"""`image-embed`: 1280-d unit vectors whose distances mean something, on real images."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from skimage import data

import hub

pytestmark = pytest.mark.slow  # loads EfficientNet-Lite0 (once per session)

DISTINCT = ("chelsea", "coffee", "astronaut", "rocket", "camera")


def resized(image: np.ndarray, factor: float) -> np.ndarray:
    height, width = image.shape[:2]
    size = (round(width * factor), round(height * factor))
    return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BILINEAR))


def cropped(image: np.ndarray, fraction: float) -> np.ndarray:
    height, width = image.shape[:2]
    dy, dx = round(height * fraction / 2), round(width * fraction / 2)
    return image[dy : height - dy, dx : width - dx]


@pytest.fixture(scope="module")
def originals() -> list[np.ndarray]:
    return [getattr(data, name)() for name in DISTINCT]  # camera is grey (H, W)


@pytest.fixture(scope="module")
def original_vectors(image_embed: hub.Operator, originals) -> np.ndarray:
    return np.stack(image_embed.call_batch(originals))


def test_embeddings_are_1280_d_unit_float32(original_vectors: np.ndarray) -> None:
    vectors = list(original_vectors)
    assert {v.shape for v in vectors} == {(1280,)}
    assert all(v.dtype == np.float32 for v in vectors)
    assert np.allclose([np.linalg.norm(v) for v in vectors], 1.0, atol=1e-5)


@pytest.mark.parametrize("variant", [lambda im: resized(im, 0.5), lambda im: cropped(im, 0.1)],
                         ids=["resized-half", "cropped-10pct"])
def test_a_near_copy_is_nearer_than_any_other_image(image_embed: hub.Operator, originals,
                                                    original_vectors, variant) -> None:
    """Each image's resized or cropped copy is its nearest neighbour, by a clear margin."""
    vectors = original_vectors
    copies = np.stack(image_embed.call_batch([variant(im) for im in originals]))
    similarity = copies @ vectors.T  # cosine: the vectors are unit length
    assert list(similarity.argmax(axis=1)) == list(range(len(DISTINCT)))
    others = similarity[~np.eye(len(DISTINCT), dtype=bool)]
    assert similarity.diagonal().min() > 0.85 and others.max() < 0.5


def test_one_item_and_a_batch_agree(image_embed: hub.Operator, originals,
                                    original_vectors) -> None:
    assert np.allclose(image_embed(originals[1]), original_vectors[1], atol=1e-5)


def test_paths_and_bytes_give_the_array_embedding(image_embed: hub.Operator, tmp_path) -> None:
    path = tmp_path / "coffee.png"
    Image.fromarray(data.coffee()).save(path)
    from_array, from_path, from_bytes = image_embed.call_batch(
        [data.coffee(), path, path.read_bytes()]
    )
    assert np.allclose(from_array, from_path, atol=1e-5)
    assert np.allclose(from_array, from_bytes, atol=1e-5)


def test_an_empty_batch_gives_no_vectors(image_embed: hub.Operator) -> None:
    assert image_embed.call_batch([]) == []


def test_a_float_array_is_an_error_naming_the_item(image_embed: hub.Operator) -> None:
    bad = np.zeros((8, 8, 3), dtype=np.float64)
    with pytest.raises(ValueError, match=r"image 1: array of shape \(8, 8, 3\) and dtype float64"):
        image_embed.call_batch([data.coffee(), bad])


def test_a_non_image_is_an_error_saying_what_to_pass(image_embed: hub.Operator) -> None:
    with pytest.raises(TypeError, match=r"image 0: a dict is not an image; pass an RGB uint8"):
        image_embed({"path": "x.jpg"})


def test_a_path_that_is_not_an_image_is_an_error_naming_it(image_embed: hub.Operator,
                                                            tmp_path) -> None:
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    with pytest.raises(ValueError, match=r"image 0: '.*notes\.png' is not an image Pillow can"):
        image_embed(text)
