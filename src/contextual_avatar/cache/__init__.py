"""The per-session chunk cache: policies, stores and the hit rule."""

from contextual_avatar.cache._cache import CacheStats, ChunkCache
from contextual_avatar.cache._config import CacheConfig
from contextual_avatar.cache._factory import build_store
from contextual_avatar.cache._history import MemoryHistory
from contextual_avatar.cache._policy import EvictionPolicy, FIFOPolicy, LRUPolicy
from contextual_avatar.cache._store import CacheEntry, ChunkStore, MemoryChunkStore

__all__ = [
    "CacheConfig",
    "CacheEntry",
    "CacheStats",
    "ChunkCache",
    "ChunkStore",
    "EvictionPolicy",
    "FIFOPolicy",
    "LRUPolicy",
    "MemoryChunkStore",
    "MemoryHistory",
    "build_store",
]
