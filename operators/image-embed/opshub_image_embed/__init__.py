"""The `image-embed` operator: EfficientNet-Lite0 image embeddings (1280-d, L2-normalised)."""
