"""The `text-embed` operator: all-MiniLM-L6-v2 sentence embeddings (384-d, L2-normalised)."""
