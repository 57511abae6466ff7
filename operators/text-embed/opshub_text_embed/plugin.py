"""Registers `text-embed`; imports neither torch nor sentence-transformers."""

import hub


@hub.hookimpl
def register_operators(register):
    register(
        "text-embed",
        "opshub_text_embed.model:TextEmbed",
        kind="class",
        batch=True,
        description="all-MiniLM-L6-v2 sentence embeddings, 384-d, L2-normalised.",
        num_cpus=1,
        inputs=["text: str"],
        outputs=["embedding: float32[384]"],
    )
