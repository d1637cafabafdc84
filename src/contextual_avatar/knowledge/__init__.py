"""Shared knowledge: facts learned in each turn, written in the background to a graph.

Every turn's facts (who asked what, the answer, its sources, the entities involved) are
extracted offline (:func:`extract_facts`), handed to a :class:`BackgroundWriter` that costs the
ask path microseconds and loses nothing (durable outbox, retries, idempotent replays), and
stored in a :class:`KnowledgeGraphSink`: an embedded SQLite file (:class:`SQLiteGraphSink`) or a
Neo4j server over Bolt (:class:`Neo4jGraphSink`). Avatars sharing one graph see each other's
facts through ``related(question)``.
"""

from __future__ import annotations

from contextual_avatar.knowledge._config import KnowledgeBackend, KnowledgeConfig
from contextual_avatar.knowledge._extract import (
    ANSWERED,
    ASKED,
    MENTIONS,
    RELATED_TO,
    RELIED_ON,
    entity_key,
    extract_entities,
    extract_facts,
    fact_entries,
    fact_id,
    index_terms,
)
from contextual_avatar.knowledge._factory import open_sink
from contextual_avatar.knowledge._neo4j import Neo4jGraphSink
from contextual_avatar.knowledge._outbox import Outbox
from contextual_avatar.knowledge._sink import KnowledgeGraphSink, format_fact, pack_facts
from contextual_avatar.knowledge._sqlite import SQLiteGraphSink
from contextual_avatar.knowledge._writer import (
    BackgroundWriter,
    WriterClosedError,
    WriterStats,
    backoff_delay,
)

__all__ = [
    "ANSWERED",
    "ASKED",
    "MENTIONS",
    "RELATED_TO",
    "RELIED_ON",
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
    "entity_key",
    "extract_entities",
    "extract_facts",
    "fact_entries",
    "fact_id",
    "format_fact",
    "index_terms",
    "open_sink",
    "pack_facts",
]
