from __future__ import annotations

import numpy as np

from contextual_avatar.cache import ChunkCache, LRUPolicy, MemoryChunkStore
from contextual_avatar.types import Chunk, ScoredChunk, SourceRef, Span


def unit(*xs: float) -> np.ndarray:
    v = np.array(xs, dtype=np.float32)
    return v / np.linalg.norm(v)


def scored(key: str, score: float = 0.5) -> ScoredChunk:
    return ScoredChunk(Chunk(key, "d", 0, key, (Span(0, len(key), SourceRef("a.txt")),)), score)


def make_cache(threshold: float = 0.8) -> ChunkCache:
    return ChunkCache(MemoryChunkStore(capacity=3, policy_factory=LRUPolicy), threshold=threshold)


async def test_empty_session_is_a_miss():
    cache = make_cache()
    chunks, decision = await cache.lookup("s", unit(1, 0))
    assert chunks == []
    assert not decision.hit
    assert "empty" in decision.reason


async def test_hit_when_a_cached_chunk_is_close_enough():
    cache = make_cache(threshold=0.8)
    await cache.admit("s", [scored("x"), scored("y")], np.stack([unit(1, 0), unit(0, 1)]))
    chunks, decision = await cache.lookup("s", unit(1, 0.1))
    assert decision.hit
    assert decision.score > 0.8
    assert chunks[0].chunk.id == "x"


async def test_miss_when_nothing_is_close():
    cache = make_cache(threshold=0.8)
    await cache.admit("s", [scored("x")], np.stack([unit(1, 0)]))
    _, decision = await cache.lookup("s", unit(0, 1))
    assert not decision.hit
    assert decision.score < 0.8
    assert cache.stats().misses == 1


async def test_several_query_vectors_score_the_best_of_them():
    cache = make_cache(threshold=0.9)
    await cache.admit("s", [scored("x")], np.stack([unit(1, 0)]))
    _, decision = await cache.lookup("s", np.stack([unit(0, 1), unit(1, 0)]))
    assert decision.hit


async def test_other_sessions_never_hit():
    cache = make_cache(threshold=0.5)
    await cache.admit("alice", [scored("x")], np.stack([unit(1, 0)]))
    chunks, decision = await cache.lookup("bob", unit(1, 0))
    assert chunks == []
    assert not decision.hit
