"""Settings for the shared knowledge graph: which store, where, and how the writer batches.

:class:`KnowledgeConfig` is frozen and checked on construction; the engine nests it in
``EngineConfig`` (``CONTEXTUAL_AVATAR_KNOWLEDGE__BACKEND=neo4j`` and so on).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_CLOSE_TIMEOUT_S",
    "DEFAULT_CONNECT_TIMEOUT_S",
    "DEFAULT_CONTEXT_TOKENS",
    "DEFAULT_MIN_KEY_SHARE",
    "DEFAULT_MIN_SIMILARITY",
    "DEFAULT_NEO4J_URI",
    "DEFAULT_NEO4J_USER",
    "DEFAULT_PRIOR_ADMIT",
    "DEFAULT_PRIOR_LIFT",
    "DEFAULT_PRIOR_SHARE_LIFT",
    "DEFAULT_QUEUE_SIZE",
    "DEFAULT_RELATED_LIMIT",
    "DEFAULT_RETENTION_DAYS",
    "DEFAULT_RETRY_INITIAL_S",
    "DEFAULT_RETRY_MAX_S",
    "DEFAULT_RETRY_MULTIPLIER",
    "KnowledgeBackend",
    "KnowledgeConfig",
]

KnowledgeBackend = Literal["sqlite", "neo4j", "none"]

DEFAULT_NEO4J_URI = "bolt://127.0.0.1:7687"
DEFAULT_NEO4J_USER = "neo4j"
DEFAULT_QUEUE_SIZE = 10_000
DEFAULT_BATCH_SIZE = 500
DEFAULT_RETRY_INITIAL_S = 0.05
DEFAULT_RETRY_MAX_S = 5.0
DEFAULT_RETRY_MULTIPLIER = 2.0
DEFAULT_CONNECT_TIMEOUT_S = 5.0
DEFAULT_CLOSE_TIMEOUT_S = 10.0
DEFAULT_RELATED_LIMIT = 10
DEFAULT_CONTEXT_TOKENS = 120
DEFAULT_MIN_SIMILARITY = 0.4
DEFAULT_MIN_KEY_SHARE = 0.5
DEFAULT_RETENTION_DAYS = 30.0
DEFAULT_PRIOR_LIFT = 7
DEFAULT_PRIOR_SHARE_LIFT = 0
DEFAULT_PRIOR_ADMIT = 0

_BOLT_SCHEMES = ("bolt://", "bolt+s://", "bolt+ssc://", "neo4j://", "neo4j+s://", "neo4j+ssc://")


class KnowledgeConfig(BaseModel):
    """Where shared knowledge is stored and how the background writer behaves.

    Parameters:
        backend: ``"none"`` (the default: knowledge is neither written nor read; measured
            on CoQA, sharing did not improve recall or answers, see ``docs/knowledge.md``),
            ``"sqlite"`` (an embedded file) or ``"neo4j"`` (a Bolt server).
        path: The SQLite file; ``None`` lets the engine put ``knowledge.sqlite3`` in its
            data directory. Two processes given one file share one graph.
        outbox_dir: Directory of the writer's durable outbox; ``None`` lets the engine use
            its data directory. Facts acknowledged there survive a crash.
        uri: Bolt URI of the Neo4j server.
        user: Neo4j user name.
        password: Neo4j password (kept out of reprs and logs).
        database: Neo4j database name; ``None`` uses the server's default.
        queue_size: Facts held in memory before :meth:`BackgroundWriter.submit` spills
            straight to the outbox.
        batch_size: Facts per outbox append and per store write.
        retry_initial_s: First back-off delay after a failed store write.
        retry_max_s: Longest back-off delay.
        retry_multiplier: Growth factor of the delay between attempts.
        connect_timeout_s: Neo4j connection timeout, and its managed-transaction retry time.
        close_timeout_s: How long closing the writer keeps trying to deliver before it
            leaves the rest in the outbox for the next start.
        related_limit: Chunks fetched per question by ``related()``.
        context_tokens: The most tokens of the turn's context budget that chunks other
            sessions found may take (they are fitted inside the budget, never added to it).
        min_similarity: Relevance floor: a shared chunk is used only when its cosine
            similarity to the question is at least this.
        min_key_share: A shared chunk must have answered questions on at least this share
            of the asking question's keys (its document terms), so one common word is not
            enough.
        prior_lift: The retrieval prior: how many places a chunk of the turn's own
            candidates (search results or cache hit) moves up, before the context budget
            is filled, when earlier sessions' grounded answers to questions of exactly the
            turn's document terms (:func:`kind_key`) came from it. ``0`` turns it off.
        prior_share_lift: As ``prior_lift``, for chunks that answered questions sharing
            at least ``min_key_share`` of the turn's terms (a looser match, which lets
            a question stuffed with words sway others: ``0``, off, by default).
        prior_admit: At most this many voted chunks the turn did not find itself join
            its candidates, last (so only the lift can carry them into the budget), if
            above ``min_similarity``. ``0``: the prior only re-ranks.
        retention_days: Facts older than this are neither served nor kept (deleted at
            most hourly as turns are recorded, and by ``flush``).
        related_timeout_s: How long an ask waits for ``related()``; a slower graph is
            skipped for that turn (the answer comes from the documents alone).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    backend: KnowledgeBackend = "none"
    path: Path | None = None
    outbox_dir: Path | None = None
    uri: str = DEFAULT_NEO4J_URI
    user: str = DEFAULT_NEO4J_USER
    password: SecretStr = Field(default=SecretStr(""))
    database: str | None = None
    queue_size: int = DEFAULT_QUEUE_SIZE
    batch_size: int = DEFAULT_BATCH_SIZE
    retry_initial_s: float = DEFAULT_RETRY_INITIAL_S
    retry_max_s: float = DEFAULT_RETRY_MAX_S
    retry_multiplier: float = DEFAULT_RETRY_MULTIPLIER
    connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S
    close_timeout_s: float = DEFAULT_CLOSE_TIMEOUT_S
    related_limit: int = DEFAULT_RELATED_LIMIT
    context_tokens: int = DEFAULT_CONTEXT_TOKENS
    min_similarity: float = Field(default=DEFAULT_MIN_SIMILARITY, ge=-1.0, le=1.0)
    min_key_share: float = Field(default=DEFAULT_MIN_KEY_SHARE, gt=0, le=1.0)
    prior_lift: int = Field(default=DEFAULT_PRIOR_LIFT, ge=0, le=100)
    prior_share_lift: int = Field(default=DEFAULT_PRIOR_SHARE_LIFT, ge=0, le=100)
    prior_admit: int = Field(default=DEFAULT_PRIOR_ADMIT, ge=0, le=10)
    retention_days: float = Field(default=DEFAULT_RETENTION_DAYS, gt=0)
    related_timeout_s: float = 0.3

    @field_validator("uri")
    @classmethod
    def _check_uri(cls, value: str) -> str:
        if not value.startswith(_BOLT_SCHEMES):
            raise ValueError(f"uri must start with one of {', '.join(_BOLT_SCHEMES)}")
        return value

    @field_validator("queue_size", "batch_size", "related_limit")
    @classmethod
    def _check_positive_int(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be at least 1")
        return value

    @field_validator("context_tokens")
    @classmethod
    def _check_tokens(cls, value: int) -> int:
        if value < 0:
            raise ValueError("must not be negative")
        return value

    @field_validator(
        "retry_initial_s",
        "retry_max_s",
        "connect_timeout_s",
        "close_timeout_s",
        "related_timeout_s",
    )
    @classmethod
    def _check_positive_float(cls, value: float) -> float:
        if not value > 0:
            raise ValueError("must be greater than 0")
        return value

    @field_validator("retry_multiplier")
    @classmethod
    def _check_multiplier(cls, value: float) -> float:
        if value < 1:
            raise ValueError("must be at least 1")
        return value

    @model_validator(mode="after")
    def _check_retry_range(self) -> KnowledgeConfig:
        if self.retry_max_s < self.retry_initial_s:
            raise ValueError("retry_max_s must be at least retry_initial_s")
        if self.batch_size > self.queue_size:
            raise ValueError("batch_size must not exceed queue_size")
        return self
