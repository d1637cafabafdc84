"""Build the configured policy, chunk store and conversation history."""

from __future__ import annotations

from functools import partial

from contextual_avatar.cache._config import CacheConfig
from contextual_avatar.cache._fallback import FallbackChunkStore, FallbackHistory
from contextual_avatar.cache._history import History, MemoryHistory, RedisHistory
from contextual_avatar.cache._hybrid import HybridPolicy
from contextual_avatar.cache._lfu import LFUPolicy
from contextual_avatar.cache._policy import (
    EvictionPolicy,
    FIFOPolicy,
    LRUPolicy,
    PolicyFactory,
)
from contextual_avatar.cache._redis import RedisChunkStore
from contextual_avatar.cache._store import ChunkStore, MemoryChunkStore
from contextual_avatar.errors import ConfigError

__all__ = ["build_history", "build_store", "policy_factory"]


def policy_factory(config: CacheConfig, *, policy: PolicyFactory | None = None) -> PolicyFactory:
    """A zero-argument maker of the policy (one per session).

    Args:
        config: Names the built-in policy (``config.policy``).
        policy: A custom zero-argument factory (a policy class works) that replaces
            ``config.policy``; returned as is.
    """
    if policy is not None:
        return policy
    if config.policy == "lfu":
        return partial(LFUPolicy, decay_every=config.lfu_decay_every)
    return {"fifo": FIFOPolicy, "lru": LRUPolicy, "hybrid": HybridPolicy}[config.policy]


def build_store(config: CacheConfig, *, policy: PolicyFactory | None = None) -> ChunkStore:
    """The store ``config`` asks for (in process by default).

    Redis is wrapped in a :class:`FallbackChunkStore` unless ``config.fallback`` is off.
    Capacity, TTL, key prefix and session bound always come from ``config``.

    Args:
        config: The cache settings.
        policy: A custom zero-argument policy factory (a policy class works) used
            instead of ``config.policy`` by every store built here, Redis and its
            in-process fallback alike, so a session evicts the same way either side.

    Raises:
        ConfigError: ``policy`` does not make an :class:`EvictionPolicy`, or (Redis)
            its state does not survive serialisation.
        MissingDependencyError: ``store="redis"`` without the ``redis`` extra.
    """
    make = policy_factory(config, policy=policy)
    made = make()
    if not isinstance(made, EvictionPolicy):
        raise ConfigError(
            f"policy must make an EvictionPolicy (subclass it), got {type(made).__name__}"
        )
    memory = MemoryChunkStore(
        capacity=config.capacity,
        policy_factory=make,
        max_sessions=config.max_sessions,
        ttl_s=config.session_ttl_s,
    )
    if config.store == "redis":
        redis = RedisChunkStore(
            capacity=config.capacity,
            policy_factory=make,
            url=config.redis_url,
            prefix=config.key_prefix,
            ttl_s=config.session_ttl_s,
            cluster=config.redis_cluster,
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
            cluster=config.redis_cluster,
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
