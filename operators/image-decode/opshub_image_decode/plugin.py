"""Registers `image-decode`; imports nothing heavy (Pillow loads at first use)."""

import hub


@hub.hookimpl
def register_operators(register):
    register(
        "image-decode",
        "opshub_image_decode.decode:decode_image",
        description="A path or encoded bytes to an RGB uint8 array (H, W, 3), with Pillow.",
        num_cpus=0.5,
        inputs=["path|bytes"],
        outputs=["image: uint8[H, W, 3]"],
    )
