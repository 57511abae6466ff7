"""Decode an image file, or its encoded bytes, into an RGB uint8 array."""

from __future__ import annotations

import io
import os
from typing import IO, Union

import numpy as np
from PIL import Image, ImageOps

ImageSource = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview]


class ImageDecodeError(ValueError):
    """Raised when an input is not an image Pillow can read; the message names the input."""


def decode_image(source: ImageSource) -> np.ndarray:
    """Decode a path or encoded bytes into an ``(H, W, 3)`` uint8 RGB array.

    EXIF orientation is applied, so a phone photo comes out the way it is shown.

    >>> decode_image("cat.jpg").shape  # doctest: +SKIP
    (480, 640, 3)
    """
    label = describe(source)
    file = _as_file(source, label)
    try:
        with Image.open(file) as img:
            return np.asarray(ImageOps.exif_transpose(img).convert("RGB"))
    except FileNotFoundError:
        raise ImageDecodeError(f"{label} does not exist; pass the path of an image file") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        # Pillow raises UnidentifiedImageError (an OSError) for non-images and
        # OSError/SyntaxError/ValueError for truncated or corrupt files.
        raise ImageDecodeError(
            f"{label} is not an image Pillow can read ({exc}); "
            "pass a PNG, JPEG, GIF, BMP, TIFF or WebP file, or its bytes"
        ) from None


def describe(source: object) -> str:
    """A short human label for an input, for error messages."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source[:12])
        return f"input of {len(source)} bytes starting {data!r}"
    return f"file {os.fspath(source)!r}" if isinstance(source, (str, os.PathLike)) else repr(source)


def _as_file(source: object, label: str) -> str | IO[bytes]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return io.BytesIO(bytes(source))
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    raise ImageDecodeError(
        f"{label} of type {type(source).__name__} cannot be decoded; "
        "pass a path (str or pathlib.Path) or the file's bytes"
    )
