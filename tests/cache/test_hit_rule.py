"""The hit rule's lexical condition, the retriever-like ranking of cached chunks, prefetch."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from contextual_avatar.cache import CacheEntry, ChunkCache, HybridPolicy, MemoryChunkStore
from contextual_avatar.types import Chunk, SourceRef, Span


def unit(*xs: float) -> np.ndarray:
    v = np.array(xs, dtype=np.float32)
    return v / np.linalg.norm(v)


def chunk(doc: str, ordinal: int, text: str) -> Chunk:
    return Chunk(f"{doc}:{ordinal}", doc, ordinal, text, (Span(0, len(text), SourceRef("a.txt")),))


def entry(doc: str, ordinal: int, text: str, vector: np.ndarray) -> CacheEntry:
    return CacheEntry(chunk(doc, ordinal, text), vector)


def make_cache(*, max_missing: int | None = 0, **kwargs: object) -> ChunkCache:
    store = MemoryChunkStore(capacity=5, policy_factory=HybridPolicy)
    return ChunkCache(store, threshold=0.5, max_missing=max_missing, **kwargs)  # type: ignore[arg-type]


async def test_question_naming_something_uncached_is_a_miss_despite_the_cosine():
    cache = make_cache(max_missing=0)
    await cache.store.admit("s", [entry("d", 0, "Duane went to the river", unit(1, 0))])
    _, decision = await cache.lookup("s", unit(1, 0), terms=["vikings"])
    assert not decision.hit
    assert "not in any cached chunk" in decision.reason


async def test_terms_all_cached_allow_the_hit():
    cache = make_cache(max_missing=0)
    await cache.store.admit("s", [entry("d", 0, "Duane went to the river", unit(1, 0))])
    _, decision = await cache.lookup("s", unit(1, 0), terms=["duane", "river"])
    assert decision.hit


async def test_max_missing_tolerates_that_many_terms():
    cache = make_cache(max_missing=1)
    await cache.store.admit("s", [entry("d", 0, "Duane went to the river", unit(1, 0))])
    one = await cache.lookup("s", unit(1, 0), terms=["duane", "boat"])
    two = await cache.lookup("s", unit(1, 0), terms=["duane", "boat", "oar"])
    assert one[1].hit and not two[1].hit


async def test_none_means_cosine_alone_decides():
    cache = make_cache(max_missing=None)
    await cache.store.admit("s", [entry("d", 0, "Duane went to the river", unit(1, 0))])
    _, decision = await cache.lookup("s", unit(1, 0), terms=["vikings", "longships"])
    assert decision.hit


async def test_terms_count_only_when_the_cosine_floor_is_met():
    cache = make_cache(max_missing=0)
    await cache.store.admit("s", [entry("d", 0, "Duane went to the river", unit(1, 0))])
    _, decision = await cache.lookup("s", unit(0, 1), terms=["duane"])
    assert not decision.hit
    assert "<" in decision.reason


async def test_ranking_uses_terms_and_focus_but_scores_stay_cosine():
    cache = make_cache(lexical_weight=0.5, focus_weight=0.4)
    a = entry("a", 0, "the weather was cold", unit(1, 0.05))
    b = entry("b", 0, "Duane won the race", unit(1, 0.2))
    await cache.store.admit("s", [a, b])
    q = unit(1, 0)
    ranked, _ = await cache.lookup("s", q)
    assert ranked[0].chunk.doc_id == "a"  # cosine alone
    ranked, _ = await cache.lookup("s", q, terms=["duane", "race"])
    assert ranked[0].chunk.doc_id == "b"  # the chunk holding the question's terms
    assert abs(ranked[0].score - float(b.vector @ q)) < 1e-6
    ranked, _ = await cache.lookup("s", q, focus={"a": 1.0})
    assert ranked[0].chunk.doc_id == "a"


class Book:
    """A chunk source over a dict of entries (what the engine's corpus is to the cache)."""

    def __init__(self, entries: dict[str, CacheEntry]) -> None:
        self.entries = entries

    def lookup(self, ids: Sequence[str]):
        found = [self.entries[i] for i in ids if i in self.entries]
        return [e.chunk for e in found], np.array([e.vector for e in found], dtype=np.float32)


async def test_prefetch_admits_the_next_chunk_after_a_hit():
    book = {f"d:{i}": entry("d", i, f"part {i}", unit(1, i / 10)) for i in range(4)}

    source = Book(book)

    cache = make_cache(max_missing=None, source=source, prefetch=True)
    await cache.store.admit("s", [book["d:1"]])
    _, decision = await cache.lookup("s", unit(1, 0.1))
    assert decision.hit
    ids = {e.chunk.id for e in await cache.store.entries("s")}
    assert ids == {"d:1", "d:2"}


async def test_no_prefetch_without_a_hit_or_past_the_end():
    book = {"d:0": entry("d", 0, "only part", unit(1, 0))}

    source = Book(book)

    cache = make_cache(max_missing=None, source=source, prefetch=True)
    await cache.store.admit("s", [book["d:0"]])
    await cache.lookup("s", unit(1, 0))  # hit, but d:1 does not exist
    await cache.lookup("s", unit(0, 1))  # miss
    assert [e.chunk.id for e in await cache.store.entries("s")] == ["d:0"]
