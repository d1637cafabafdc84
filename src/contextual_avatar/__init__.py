"""contextual-avatar: the knowledge an interactive avatar needs to answer well, fast and cheaply.

Upload PDFs and transcripts, then answer each conversational turn from a tiny
per-session chunk cache before touching the vector index, with citations::

    import contextual_avatar as ca

    engine = ca.ContextEngine()
    engine.ingest("guide.pdf")
    answer = engine.ask("session-1", "How much does an adult ticket cost?")
    print(answer.text, [str(c) for c in answer.citations])
"""

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
from contextual_avatar.engine import AsyncContextEngine, ContextEngine
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
    "Chunk",
    "ChunkingConfig",
    "CodecConfig",
    "CodecError",
    "ConfigError",
    "ContextEngine",
    "ContextualAvatarError",
    "EmbedderConfig",
    "EngineConfig",
    "Fact",
    "IndexCorruptError",
    "IngestConfig",
    "IngestError",
    "IngestReport",
    "InputError",
    "KnowledgeConfig",
    "MissingDependencyError",
    "ModelError",
    "RetrievalConfig",
    "RouteDecision",
    "RoutingConfig",
    "ScoredChunk",
    "Segment",
    "SourceRef",
    "Span",
    "StoreUnavailable",
    "Tier",
    "TokenUsage",
    "TranscriptionConfig",
    "Turn",
    "__version__",
]
