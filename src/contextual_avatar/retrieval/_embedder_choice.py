"""Build the embedder :class:`EmbedderConfig` describes: ONNX Runtime or torch, same model."""

from __future__ import annotations

import importlib.util

from contextual_avatar.retrieval._config import EmbedderConfig
from contextual_avatar.retrieval._embedder import Embedder, MiniLMEmbedder
from contextual_avatar.retrieval._onnx import OnnxEmbedder

__all__ = ["build_embedder", "resolve_runtime"]


def resolve_runtime(config: EmbedderConfig) -> str:
    """``"onnx"`` or ``"torch"``: ``"auto"`` picks ONNX when its extra is installed."""
    if config.runtime != "auto":
        return config.runtime
    needed = ("onnxruntime", "tokenizers", "onnx")
    return "onnx" if all(importlib.util.find_spec(m) is not None for m in needed) else "torch"


def build_embedder(config: EmbedderConfig) -> Embedder:
    """The configured embedder; nothing is loaded until its first ``embed``."""
    if resolve_runtime(config) == "onnx":
        return OnnxEmbedder(
            model_path=config.model_path,
            cache_dir=config.cache_dir,
            quantize=config.quantize,
            batch_size=config.batch_size,
            threads=config.threads,
        )
    return MiniLMEmbedder(
        model_path=config.model_path, batch_size=config.batch_size, threads=config.threads
    )
