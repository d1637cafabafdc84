"""Settings for the per-session chunk cache."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["CacheConfig"]

DEFAULT_CACHE_CAPACITY = 5
# Cosine between the (conversation-aware) query and the best cached chunk. With the
# lexical condition below doing most of the work, a low floor keeps the most hits at
# unchanged recall; swept on the CoQA replays (docs/cache.md, "Hit rule sweep").
DEFAULT_HIT_THRESHOLD = 0.30
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_KEY_PREFIX = "ca:cache"
# With capacity 5 a CoQA passage (about 5 chunks) fits whole: admit the window around it.
DEFAULT_NEIGHBOURS = 4
# Question terms absent from every cached chunk that a hit tolerates (None: cosine only).
# 0 is the setting that measured no recall loss; 1 serves more turns at a small cost.
DEFAULT_MAX_MISSING_TERMS: int | None = 0
# Question terms held by more than this share of indexed chunks are too common to say
# which passage a question is on, so the hit rule does not check them.
DEFAULT_COMMON_TERM_SHARE = 0.05
DEFAULT_HISTORY_TURNS = 8
DEFAULT_FALLBACK_RETRY_S = 1.0
_PREFIX = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


class CacheConfig(BaseModel):
    """The per-session chunk cache consulted before the index.

    Parameters:
        enabled: ``False`` disables the cache: every turn searches the index (the
            stateless baseline).
        policy: Eviction policy (``docs/cache.md`` has one section per policy).
        capacity: Chunks held per session.
        hit_threshold: A turn is a hit when the best cached chunk's cosine similarity to
            the conversation-aware query reaches this.
        max_missing_terms: A hit also needs at most this many of the question's terms
            to be absent from every cached chunk (a question naming something the cache
            never held is a topic change); ``None`` lets the cosine alone decide.
        common_term_share: Question terms found in more than this share of indexed
            chunks are not checked by ``max_missing_terms`` (1.0 checks every term).
        admission: What a miss admits: ``"results"`` admits the search results as they
            are; ``"document"`` admits the best result with its document neighbours
            and only results from that document, so other documents' chunks do not
            flood the cache.
        prefetch: On a hit, admit the chunk after the best cached one (fetched by id,
            no search), as a conversation walks its document forward.
        neighbours: Chunks on each side of the best result admitted with it
            (``admission="document"``).
        lfu_decay_every: Events between halvings of LFU counts.
        store: ``"memory"`` (in process) or ``"redis"`` (shared by processes).
        redis_url: Redis server for ``store="redis"`` (with ``redis_cluster``, any node
            of the cluster).
        redis_cluster: ``redis_url`` is a Redis Cluster node: sessions and histories use
            redis-py's cluster client (each session's keys share one hash slot).
        key_prefix: Namespace of every Redis key.
        max_sessions: Sessions kept in process before the least recently used is dropped.
        session_ttl_s: Idle seconds after which a session's cache and history are dropped.
        history_turns: Turns of conversation state kept per session.
        fallback: With ``store="redis"``, serve from process memory while Redis is
            unreachable instead of failing the turn (see ``docs/reliability.md``).
        fallback_retry_s: Seconds after a Redis failure before Redis is tried again.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    policy: Literal["fifo", "lru", "lfu", "hybrid"] = "hybrid"
    capacity: int = Field(default=DEFAULT_CACHE_CAPACITY, ge=1, le=1000)
    hit_threshold: float = Field(default=DEFAULT_HIT_THRESHOLD, ge=-1.0, le=1.0)
    max_missing_terms: int | None = Field(default=DEFAULT_MAX_MISSING_TERMS, ge=0, le=100)
    common_term_share: float = Field(default=DEFAULT_COMMON_TERM_SHARE, gt=0.0, le=1.0)
    admission: Literal["results", "document"] = "document"
    prefetch: bool = True
    neighbours: int = Field(default=DEFAULT_NEIGHBOURS, ge=0, le=20)
    lfu_decay_every: int = Field(default=16, ge=1)
    store: Literal["memory", "redis"] = "memory"
    redis_url: str = DEFAULT_REDIS_URL
    redis_cluster: bool = False
    key_prefix: str = DEFAULT_KEY_PREFIX
    max_sessions: int = Field(default=10_000, ge=1)
    session_ttl_s: float = Field(default=3600.0, gt=0)
    history_turns: int = Field(default=DEFAULT_HISTORY_TURNS, ge=1, le=1000)
    fallback: bool = True
    fallback_retry_s: float = Field(default=DEFAULT_FALLBACK_RETRY_S, ge=0, le=3600)

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str) -> str:
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("key_prefix")
    @classmethod
    def _prefix_chars(cls, value: str) -> str:
        if not _PREFIX.match(value):
            raise ValueError("1-64 characters from letters, digits and _ . : -")
        return value
