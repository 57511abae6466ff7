"""`image-decode`: real image files and bytes in, RGB uint8 arrays out; clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

import hub
from hub._registry import Registry


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a colour JPEG, a grey PNG, an RGBA PNG and a text file posing as an image."""
    folder = tmp_path_factory.mktemp("images")
    Image.fromarray(data.chelsea()).save(folder / "cat.jpg", quality=95)
    Image.fromarray(data.camera()).save(folder / "camera.png")
    coffee = data.coffee()
    alpha = np.full(coffee.shape[:2], 128, np.uint8)
    Image.fromarray(np.dstack([coffee, alpha])).save(folder / "coffee-rgba.png")
    (folder / "notes.jpg").write_text("not an image at all\n")
    return folder


def test_decodes_a_path_to_rgb_uint8(image_decode: hub.Operator, images: Path) -> None:
    array = image_decode(images / "cat.jpg")
    assert array.dtype == np.uint8
    assert array.shape == data.chelsea().shape
    assert np.abs(array.astype(int) - data.chelsea()).mean() < 3  # JPEG is lossy


def test_decodes_bytes_and_str_paths_alike(image_decode: hub.Operator, images: Path) -> None:
    path = images / "cat.jpg"
    assert np.array_equal(image_decode(path.read_bytes()), image_decode(str(path)))


@pytest.mark.parametrize("name", ["camera.png", "coffee-rgba.png"])
def test_grey_and_rgba_become_rgb(image_decode: hub.Operator, images: Path, name: str) -> None:
    array = image_decode(images / name)
    assert array.ndim == 3 and array.shape[2] == 3 and array.dtype == np.uint8


def test_a_text_file_is_an_error_naming_it(image_decode: hub.Operator, images: Path) -> None:
    with pytest.raises(ValueError, match=r"notes\.jpg.* is not an image Pillow can read"):
        image_decode(images / "notes.jpg")


def test_a_missing_file_is_an_error_naming_it(image_decode: hub.Operator, images: Path) -> None:
    with pytest.raises(ValueError, match=r"nope\.png' does not exist"):
        image_decode(images / "nope.png")


def test_garbage_bytes_are_an_error_naming_them(image_decode: hub.Operator) -> None:
    with pytest.raises(ValueError, match=r"input of 9 bytes starting b'garbage!!'"):
        image_decode(b"garbage!!")


def test_a_wrong_type_says_what_to_pass(image_decode: hub.Operator) -> None:
    with pytest.raises(ValueError, match=r"of type int cannot be decoded; pass a path"):
        image_decode(42)


def test_listed_by_hub_list_without_importing_pillow(first_party: Path) -> None:
    spec = Registry.discover().get("image-decode")
    assert (spec.kind, spec.batch, spec.distribution) == ("function", False, "image-decode")
