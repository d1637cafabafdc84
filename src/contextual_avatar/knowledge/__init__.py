"""Shared knowledge: which document chunks answered which kind of question, per collection.

A turn whose answer is grounded in its sources teaches other avatars a retrieval prior
(:func:`extract_facts`): hashed salient document terms of the question point at the chunks
that supported the answer. Nothing a caller typed and no session id is ever served to
another session. Facts go through a :class:`BackgroundWriter` (durable outbox, retries,
idempotent replays) to a :class:`KnowledgeGraphSink`: an embedded SQLite file
(:class:`SQLiteGraphSink`) or a Neo4j server over Bolt (:class:`Neo4jGraphSink`).
"""

from __future__ import annotations

from contextual_avatar.knowledge._config import KnowledgeBackend, KnowledgeConfig
from contextual_avatar.knowledge._extract import (
    ANSWERED_BY,
    SHARED_PREDICATES,
    extract_facts,
    fact_id,
    feature_keys,
    kind_key,
    session_key,
    supporting_chunks,
)
from contextual_avatar.knowledge._factory import open_sink
from contextual_avatar.knowledge._neo4j import Neo4jGraphSink
from contextual_avatar.knowledge._outbox import Outbox
from contextual_avatar.knowledge._sink import DEFAULT_COLLECTION, KnowledgeGraphSink, query_keys
from contextual_avatar.knowledge._sqlite import SQLiteGraphSink
from contextual_avatar.knowledge._writer import (
    BackgroundWriter,
    WriterClosedError,
    WriterStats,
    backoff_delay,
)

__all__ = [
    "ANSWERED_BY",
    "DEFAULT_COLLECTION",
    "SHARED_PREDICATES",
    "BackgroundWriter",
    "KnowledgeBackend",
    "KnowledgeConfig",
    "KnowledgeGraphSink",
    "Neo4jGraphSink",
    "Outbox",
    "SQLiteGraphSink",
    "WriterClosedError",
    "WriterStats",
    "backoff_delay",
    "extract_facts",
    "fact_id",
    "feature_keys",
    "kind_key",
    "open_sink",
    "query_keys",
    "session_key",
    "supporting_chunks",
]
