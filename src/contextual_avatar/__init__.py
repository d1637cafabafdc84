"""contextual-avatar: the knowledge an interactive avatar needs to answer well, fast and cheaply.

Upload PDFs and transcripts, then answer each conversational turn from a tiny
per-session chunk cache before touching the vector index, with citations::

    import contextual_avatar as ca

    engine = ca.ContextEngine()
    engine.ingest("guide.pdf")
    answer = engine.ask("session-1", "How much does an adult ticket cost?")
    print(answer.text, [str(c) for c in answer.citations])

Every part is replaceable through :class:`Parts`; the interfaces a host implements
(:class:`Embedder`, :class:`Retriever`, :class:`ChunkStore`, :class:`EvictionPolicy`,
:class:`KnowledgeGraphSink`, :class:`SimilarityRouter`, :class:`Responder`,
:class:`MediaCodec`) are exported here, and their contract test suites ship in
:mod:`contextual_avatar.testing`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from contextual_avatar._lazy import lazy_exports

if TYPE_CHECKING:
    from contextual_avatar._blocking import ContextEngine
    from contextual_avatar.cache import (
        CacheEntry,
        ChunkCache,
        ChunkStore,
        EvictionPolicy,
        History,
    )
    from contextual_avatar.codecs._base import MediaCodec
    from contextual_avatar.config import (
        AnswerConfig,
        CacheConfig,
        ChunkingConfig,
        CodecConfig,
        EmbedderConfig,
        EngineConfig,
        IngestConfig,
        KnowledgeConfig,
        RetrievalConfig,
        RoutingConfig,
        TranscriptionConfig,
    )
    from contextual_avatar.engine import AsyncContextEngine
    from contextual_avatar.errors import (
        CodecError,
        ConfigError,
        ContextualAvatarError,
        IndexCorruptError,
        IngestError,
        InputError,
        MissingDependencyError,
        ModelError,
        StoreUnavailable,
    )
    from contextual_avatar.knowledge import KnowledgeGraphSink
    from contextual_avatar.parts import Parts
    from contextual_avatar.retrieval import (
        ConversationState,
        Embedder,
        Retriever,
    )
    from contextual_avatar.routing import (
        EvidenceRouter,
        Reply,
        Responder,
        SimilarityRouter,
        StreamingResponder,
    )
    from contextual_avatar.types import (
        Answer,
        CacheDecision,
        Chunk,
        Fact,
        IngestReport,
        RouteDecision,
        ScoredChunk,
        Segment,
        SourceRef,
        Span,
        Tier,
        TokenUsage,
        Turn,
    )

__version__ = "0.1.0"

__all__ = [
    "Answer",
    "AnswerConfig",
    "AsyncContextEngine",
    "CacheConfig",
    "CacheDecision",
    "CacheEntry",
    "Chunk",
    "ChunkCache",
    "ChunkStore",
    "ChunkingConfig",
    "CodecConfig",
    "CodecError",
    "ConfigError",
    "ContextEngine",
    "ContextualAvatarError",
    "ConversationState",
    "Embedder",
    "EmbedderConfig",
    "EngineConfig",
    "EvictionPolicy",
    "EvidenceRouter",
    "Fact",
    "History",
    "IndexCorruptError",
    "IngestConfig",
    "IngestError",
    "IngestReport",
    "InputError",
    "KnowledgeConfig",
    "KnowledgeGraphSink",
    "MediaCodec",
    "MissingDependencyError",
    "ModelError",
    "Parts",
    "Reply",
    "Responder",
    "RetrievalConfig",
    "Retriever",
    "RouteDecision",
    "RoutingConfig",
    "ScoredChunk",
    "Segment",
    "SimilarityRouter",
    "SourceRef",
    "Span",
    "StoreUnavailable",
    "StreamingResponder",
    "Tier",
    "TokenUsage",
    "TranscriptionConfig",
    "Turn",
    "__version__",
]

# Each name loads its module on first use: ``import contextual_avatar`` stays cheap and
# loads no part (no pydantic models, no FAISS index code, no PDF reader) until asked.
_LAZY = {
    "CacheEntry": "contextual_avatar.cache",
    "ChunkCache": "contextual_avatar.cache",
    "ChunkStore": "contextual_avatar.cache",
    "EvictionPolicy": "contextual_avatar.cache",
    "History": "contextual_avatar.cache",
    "MediaCodec": "contextual_avatar.codecs._base",
    "AnswerConfig": "contextual_avatar.config",
    "CacheConfig": "contextual_avatar.config",
    "ChunkingConfig": "contextual_avatar.config",
    "CodecConfig": "contextual_avatar.config",
    "EmbedderConfig": "contextual_avatar.config",
    "EngineConfig": "contextual_avatar.config",
    "IngestConfig": "contextual_avatar.config",
    "KnowledgeConfig": "contextual_avatar.config",
    "RetrievalConfig": "contextual_avatar.config",
    "RoutingConfig": "contextual_avatar.config",
    "TranscriptionConfig": "contextual_avatar.config",
    "AsyncContextEngine": "contextual_avatar.engine",
    "ContextEngine": "contextual_avatar._blocking",
    "CodecError": "contextual_avatar.errors",
    "ConfigError": "contextual_avatar.errors",
    "ContextualAvatarError": "contextual_avatar.errors",
    "IndexCorruptError": "contextual_avatar.errors",
    "IngestError": "contextual_avatar.errors",
    "InputError": "contextual_avatar.errors",
    "MissingDependencyError": "contextual_avatar.errors",
    "ModelError": "contextual_avatar.errors",
    "StoreUnavailable": "contextual_avatar.errors",
    "KnowledgeGraphSink": "contextual_avatar.knowledge",
    "Parts": "contextual_avatar.parts",
    "ConversationState": "contextual_avatar.retrieval",
    "Embedder": "contextual_avatar.retrieval",
    "Retriever": "contextual_avatar.retrieval",
    "EvidenceRouter": "contextual_avatar.routing",
    "Reply": "contextual_avatar.routing",
    "Responder": "contextual_avatar.routing",
    "SimilarityRouter": "contextual_avatar.routing",
    "StreamingResponder": "contextual_avatar.routing",
    "Answer": "contextual_avatar.types",
    "CacheDecision": "contextual_avatar.types",
    "Chunk": "contextual_avatar.types",
    "Fact": "contextual_avatar.types",
    "IngestReport": "contextual_avatar.types",
    "RouteDecision": "contextual_avatar.types",
    "ScoredChunk": "contextual_avatar.types",
    "Segment": "contextual_avatar.types",
    "SourceRef": "contextual_avatar.types",
    "Span": "contextual_avatar.types",
    "Tier": "contextual_avatar.types",
    "TokenUsage": "contextual_avatar.types",
    "Turn": "contextual_avatar.types",
}

if not TYPE_CHECKING:  # mypy reads the imports above; only the runtime is lazy
    __getattr__, __dir__ = lazy_exports(__name__, _LAZY)
