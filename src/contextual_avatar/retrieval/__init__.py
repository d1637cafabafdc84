"""Retrieval: embedders, the persisted vector index, retrievers and query building."""

from contextual_avatar.retrieval._config import EmbedderConfig, RetrievalConfig
from contextual_avatar.retrieval._embedder import Embedder, MiniLMEmbedder, normalize
from contextual_avatar.retrieval._faiss import DocRecord, FaissIndex
from contextual_avatar.retrieval._query import conversation_queries
from contextual_avatar.retrieval._retriever import DenseRetriever, Retriever

__all__ = [
    "DenseRetriever",
    "DocRecord",
    "Embedder",
    "EmbedderConfig",
    "FaissIndex",
    "MiniLMEmbedder",
    "RetrievalConfig",
    "Retriever",
    "conversation_queries",
    "normalize",
]
