"""Retrieval: embedders, vector and BM25 indexes, hybrid retrieval, conversation state.

Also context assembly: ranked chunks packed into a token budget with exact citations.
"""

from contextual_avatar._text import chunk_range as split_chunk_id  # (doc, first, last)
from contextual_avatar._text import entities, terms
from contextual_avatar.retrieval._assemble import (
    DEFAULT_CONTEXT_TOKENS,
    assemble_context,
    merge_chunks,
)
from contextual_avatar.retrieval._bm25 import BM25Index
from contextual_avatar.retrieval._config import EmbedderConfig, RetrievalConfig
from contextual_avatar.retrieval._corpus import Corpus
from contextual_avatar.retrieval._embedder import Embedder, MiniLMEmbedder, normalize
from contextual_avatar.retrieval._factory import build_retriever, conversation_state
from contextual_avatar.retrieval._faiss import DocRecord, FaissIndex
from contextual_avatar.retrieval._hybrid import Fusion, HybridRetriever, PriorWeights
from contextual_avatar.retrieval._query import conversation_queries
from contextual_avatar.retrieval._retriever import DenseRetriever, Retriever
from contextual_avatar.retrieval._state import ConversationState

__all__ = [
    "DEFAULT_CONTEXT_TOKENS",
    "BM25Index",
    "ConversationState",
    "Corpus",
    "DenseRetriever",
    "DocRecord",
    "Embedder",
    "EmbedderConfig",
    "FaissIndex",
    "Fusion",
    "HybridRetriever",
    "MiniLMEmbedder",
    "PriorWeights",
    "RetrievalConfig",
    "Retriever",
    "assemble_context",
    "build_retriever",
    "conversation_queries",
    "conversation_state",
    "entities",
    "merge_chunks",
    "normalize",
    "split_chunk_id",
    "terms",
]
