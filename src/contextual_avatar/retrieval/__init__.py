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
from contextual_avatar.retrieval._batching import BatchingEmbedder, BatchStats, Memo, remember
from contextual_avatar.retrieval._bm25 import BM25Index
from contextual_avatar.retrieval._collections import (
    DEFAULT_COLLECTION,
    Collections,
    check_collection_name,
    collection_dir,
    list_collections,
)
from contextual_avatar.retrieval._config import EmbedderConfig, RetrievalConfig
from contextual_avatar.retrieval._corpus import Corpus
from contextual_avatar.retrieval._embedder import Embedder, MiniLMEmbedder, normalize
from contextual_avatar.retrieval._embedder_choice import build_embedder
from contextual_avatar.retrieval._factory import build_retriever, conversation_state
from contextual_avatar.retrieval._faiss import DocRecord, FaissIndex
from contextual_avatar.retrieval._hybrid import Fusion, HybridRetriever, PriorWeights
from contextual_avatar.retrieval._lock import FolderLock
from contextual_avatar.retrieval._milvus import MilvusIndex
from contextual_avatar.retrieval._milvus_retriever import MilvusRetriever
from contextual_avatar.retrieval._onnx import OnnxEmbedder
from contextual_avatar.retrieval._onnx_export import export_onnx
from contextual_avatar.retrieval._query import composed_vector, conversation_queries
from contextual_avatar.retrieval._retriever import DenseRetriever, Retriever
from contextual_avatar.retrieval._state import ConversationState
from contextual_avatar.retrieval._version import CorpusVersion

__all__ = [
    "DEFAULT_COLLECTION",
    "DEFAULT_CONTEXT_TOKENS",
    "BM25Index",
    "BatchStats",
    "BatchingEmbedder",
    "Collections",
    "ConversationState",
    "Corpus",
    "CorpusVersion",
    "DenseRetriever",
    "DocRecord",
    "Embedder",
    "EmbedderConfig",
    "FaissIndex",
    "FolderLock",
    "Fusion",
    "HybridRetriever",
    "Memo",
    "MilvusIndex",
    "MilvusRetriever",
    "MiniLMEmbedder",
    "OnnxEmbedder",
    "PriorWeights",
    "RetrievalConfig",
    "Retriever",
    "assemble_context",
    "build_embedder",
    "build_retriever",
    "check_collection_name",
    "collection_dir",
    "composed_vector",
    "conversation_queries",
    "conversation_state",
    "entities",
    "export_onnx",
    "list_collections",
    "merge_chunks",
    "normalize",
    "remember",
    "split_chunk_id",
    "terms",
]
