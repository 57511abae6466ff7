"""Turn one image (array, PIL image, path or bytes) into the model's input tensor."""

from __future__ import annotations

import io
import os
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageOps

SIZE = 224
# The statistics the ImageNet weights were trained with (RGB, on a 0..1 scale).
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def to_pil(image: Any, index: int = 0) -> Image.Image:
    """An RGB PIL image from an array, a PIL image, a path or encoded bytes."""
    if isinstance(image, Image.Image):
        return image.convert("RGB")
    if isinstance(image, np.ndarray):
        return _from_array(image, index)
    if isinstance(image, (str, os.PathLike, bytes, bytearray)):
        return _open(image, index)
    raise TypeError(
        f"image {index}: a {type(image).__name__} is not an image; pass an RGB uint8 array "
        "(H, W, 3) such as image-decode returns, a PIL image, a path or encoded bytes"
    )


def to_tensor(image: Image.Image) -> torch.Tensor:
    """Resize the shorter side to 224, centre-crop 224x224, normalise: a (3, 224, 224) tensor."""
    fitted = ImageOps.fit(image, (SIZE, SIZE), Image.Resampling.BICUBIC)
    pixels = (np.asarray(fitted, dtype=np.float32) / 255.0 - MEAN) / STD
    return torch.from_numpy(pixels.transpose(2, 0, 1).copy())


def _open(image: str | os.PathLike[str] | bytes | bytearray, index: int) -> Image.Image:
    if isinstance(image, (bytes, bytearray)):
        source: str | os.PathLike[str] | io.BytesIO = io.BytesIO(bytes(image))
        label = f"{len(image)} bytes"
    else:
        source, label = image, repr(os.fspath(image))
    try:
        with Image.open(source) as img:
            return ImageOps.exif_transpose(img).convert("RGB")
    except (OSError, SyntaxError, ValueError) as exc:  # missing, not an image, truncated
        raise ValueError(
            f"image {index}: {label} is not an image Pillow can read ({exc}); pass an "
            "existing PNG, JPEG, GIF, BMP, TIFF or WebP file, or its bytes"
        ) from None


def _from_array(array: np.ndarray, index: int) -> Image.Image:
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    channels_ok = array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (3, 4))
    if array.dtype != np.uint8 or not channels_ok:
        raise ValueError(
            f"image {index}: array of shape {array.shape} and dtype {array.dtype} is not an "
            "image; pass uint8 (H, W, 3) RGB, (H, W) grey or (H, W, 4) RGBA"
        )
    return Image.fromarray(array).convert("RGB")
