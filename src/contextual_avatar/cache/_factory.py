"""Build the configured policy, chunk store and conversation history."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from contextual_avatar.cache._config import CacheConfig
from contextual_avatar.cache._fallback import FallbackChunkStore, FallbackHistory
from contextual_avatar.cache._history import History, MemoryHistory, RedisHistory
from contextual_avatar.cache._hybrid import HybridPolicy
from contextual_avatar.cache._lfu import LFUPolicy
from contextual_avatar.cache._policy import EvictionPolicy, FIFOPolicy, LRUPolicy
from contextual_avatar.cache._redis import RedisChunkStore
from contextual_avatar.cache._store import ChunkStore, MemoryChunkStore

__all__ = ["build_history", "build_store", "policy_factory"]


def policy_factory(config: CacheConfig) -> Callable[[], EvictionPolicy]:
    """A zero-argument maker of the configured policy (one per session)."""
    if config.policy == "lfu":
        return partial(LFUPolicy, decay_every=config.lfu_decay_every)
    return {"fifo": FIFOPolicy, "lru": LRUPolicy, "hybrid": HybridPolicy}[config.policy]


def build_store(config: CacheConfig) -> ChunkStore:
    """The store ``config`` asks for (in process by default).

    Redis is wrapped in a :class:`FallbackChunkStore` unless ``config.fallback`` is off.

    Raises:
        MissingDependencyError: ``store="redis"`` without the ``redis`` extra.
    """
    memory = MemoryChunkStore(
        capacity=config.capacity,
        policy_factory=policy_factory(config),
        max_sessions=config.max_sessions,
        ttl_s=config.session_ttl_s,
    )
    if config.store == "redis":
        redis = RedisChunkStore(
            capacity=config.capacity,
            policy_factory=policy_factory(config),
            url=config.redis_url,
            prefix=config.key_prefix,
            ttl_s=config.session_ttl_s,
        )
        if config.fallback:
            return FallbackChunkStore(redis, memory, retry_after_s=config.fallback_retry_s)
        return redis
    return memory


def build_history(config: CacheConfig) -> History:
    """Conversation state in the same place as the cache (memory or Redis)."""
    memory = MemoryHistory(
        max_turns=config.history_turns,
        max_sessions=config.max_sessions,
        ttl_s=config.session_ttl_s,
    )
    if config.store == "redis":
        redis = RedisHistory(
            url=config.redis_url,
            prefix=config.key_prefix,
            max_turns=config.history_turns,
            ttl_s=config.session_ttl_s,
        )
        if config.fallback:
            return FallbackHistory(
                redis,
                memory,
                retry_after_s=config.fallback_retry_s,
                max_sessions=config.max_sessions,
            )
        return redis
    return memory
