"""Settings for the per-session chunk cache."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["CacheConfig"]

DEFAULT_CACHE_CAPACITY = 5
# Cosine between the (conversation-aware) query and the best cached chunk. MiniLM scores
# any question about a document's topic 0.4-0.5 against most of its chunks, so a hit
# needs more than topical similarity.
DEFAULT_HIT_THRESHOLD = 0.55


class CacheConfig(BaseModel):
    """The per-session chunk cache consulted before the index.

    Parameters:
        policy: Eviction policy.
        capacity: Chunks held per session.
        hit_threshold: A turn is a hit when the best cached chunk's cosine similarity to
            the conversation-aware query reaches this.
        max_sessions: Sessions kept in process before the least recently used is dropped.
        session_ttl_s: Idle seconds after which a session's cache is dropped.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    policy: Literal["lru"] = "lru"
    capacity: int = Field(default=DEFAULT_CACHE_CAPACITY, ge=1, le=1000)
    hit_threshold: float = Field(default=DEFAULT_HIT_THRESHOLD, ge=-1.0, le=1.0)
    max_sessions: int = Field(default=10_000, ge=1)
    session_ttl_s: float = Field(default=3600.0, gt=0)
