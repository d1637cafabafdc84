"""Retrieval: embedders and the persisted vector index."""

from contextual_avatar.retrieval._embedder import Embedder, MiniLMEmbedder, normalize
from contextual_avatar.retrieval._faiss import DocRecord, FaissIndex

__all__ = ["DocRecord", "Embedder", "FaissIndex", "MiniLMEmbedder", "normalize"]
