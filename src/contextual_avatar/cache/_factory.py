"""Build the configured chunk store."""

from __future__ import annotations

from contextual_avatar.cache._config import CacheConfig
from contextual_avatar.cache._policy import LRUPolicy
from contextual_avatar.cache._store import ChunkStore, MemoryChunkStore

__all__ = ["build_store"]


def build_store(config: CacheConfig) -> ChunkStore:
    """The store ``config`` asks for (in process by default)."""
    return MemoryChunkStore(
        capacity=config.capacity,
        policy_factory=LRUPolicy,
        max_sessions=config.max_sessions,
        ttl_s=config.session_ttl_s,
    )
