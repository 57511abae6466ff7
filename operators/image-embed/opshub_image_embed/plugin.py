"""Registers `image-embed`; imports neither torch nor Pillow (they load at first use)."""

import hub


@hub.hookimpl
def register_operators(register):
    register(
        "image-embed",
        "opshub_image_embed.model:ImageEmbed",
        kind="class",
        batch=True,
        description="EfficientNet-Lite0 ImageNet image embeddings, 1280-d, L2-normalised.",
        num_cpus=1,
        inputs=["image: uint8[H, W, 3] | PIL image | path | bytes"],
        outputs=["embedding: float32[1280]"],
    )
