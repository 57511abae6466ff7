"""The `image-decode` operator: a path or encoded bytes to an RGB uint8 array."""
