"""The per-session chunk cache: policies, stores, conversation history and the hit rule."""

from contextual_avatar.cache._bindings import (
    FallbackBindings,
    MemoryBindings,
    RedisBindings,
    SessionBindings,
    build_bindings,
)
from contextual_avatar.cache._cache import Analyzer, CacheStats, ChunkCache, ChunkSource
from contextual_avatar.cache._config import CacheConfig
from contextual_avatar.cache._factory import build_history, build_store, policy_factory
from contextual_avatar.cache._fallback import Breaker, FallbackChunkStore, FallbackHistory
from contextual_avatar.cache._history import History, MemoryHistory, RedisHistory
from contextual_avatar.cache._hybrid import HybridPolicy, document_of
from contextual_avatar.cache._keys import scoped_session, session_key, session_tag, split_scoped
from contextual_avatar.cache._lfu import LFUPolicy
from contextual_avatar.cache._oracle import belady_hits, infinite_hits, policy_hits
from contextual_avatar.cache._policy import (
    EvictionPolicy,
    FIFOPolicy,
    LRUPolicy,
    PolicyFactory,
    check_state,
)
from contextual_avatar.cache._redis import RedisChunkStore
from contextual_avatar.cache._store import (
    BaseChunkStore,
    CacheEntry,
    ChunkStore,
    MemoryChunkStore,
)

__all__ = [
    "Analyzer",
    "BaseChunkStore",
    "Breaker",
    "CacheConfig",
    "CacheEntry",
    "CacheStats",
    "ChunkCache",
    "ChunkSource",
    "ChunkStore",
    "EvictionPolicy",
    "FIFOPolicy",
    "FallbackBindings",
    "FallbackChunkStore",
    "FallbackHistory",
    "History",
    "HybridPolicy",
    "LFUPolicy",
    "LRUPolicy",
    "MemoryBindings",
    "MemoryChunkStore",
    "MemoryHistory",
    "PolicyFactory",
    "RedisBindings",
    "RedisChunkStore",
    "RedisHistory",
    "SessionBindings",
    "belady_hits",
    "build_bindings",
    "build_history",
    "build_store",
    "check_state",
    "document_of",
    "infinite_hits",
    "policy_factory",
    "policy_hits",
    "scoped_session",
    "session_key",
    "session_tag",
    "split_scoped",
]
