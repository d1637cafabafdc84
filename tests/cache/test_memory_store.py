from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contextual_avatar.cache import CacheEntry, LRUPolicy, MemoryChunkStore
from contextual_avatar.errors import StoreUnavailable
from contextual_avatar.testing import ChunkStoreContract
from contextual_avatar.types import Chunk, SourceRef, Span


def entry(key: str) -> CacheEntry:
    chunk = Chunk(key, "doc", 0, f"text {key}", (Span(0, 4, SourceRef("a.txt")),))
    return CacheEntry(chunk, np.ones(4, dtype=np.float32) / 2)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@given(
    capacity=st.integers(min_value=1, max_value=5),
    batches=st.lists(st.lists(st.sampled_from("abcdefghij"), max_size=6), max_size=12),
)
@settings(deadline=None)
async def test_size_never_exceeds_capacity(capacity, batches):
    store = MemoryChunkStore(capacity=capacity, policy_factory=LRUPolicy)
    for batch in batches:
        evicted = await store.admit("s", [entry(k) for k in batch])
        held = {e.chunk.id for e in await store.entries("s")}
        assert len(held) <= capacity
        assert not (set(evicted) & held) or set(batch) & set(evicted)


async def test_sessions_are_isolated():
    store = MemoryChunkStore(capacity=3, policy_factory=LRUPolicy)
    await store.admit("alice", [entry("a")])
    await store.admit("bob", [entry("b")])
    assert [e.chunk.id for e in await store.entries("alice")] == ["a"]
    assert [e.chunk.id for e in await store.entries("bob")] == ["b"]
    assert await store.entries("*") == []


async def test_lru_eviction_respects_touch():
    store = MemoryChunkStore(capacity=2, policy_factory=LRUPolicy)
    await store.admit("s", [entry("a"), entry("b")])
    await store.touch("s", ["a"])
    assert await store.admit("s", [entry("c")]) == ["b"]


async def test_idle_sessions_expire_with_an_injected_clock():
    clock = FakeClock()
    store = MemoryChunkStore(capacity=2, policy_factory=LRUPolicy, ttl_s=10, timer=clock)
    await store.admit("s", [entry("a")])
    clock.now = 9
    assert len(await store.entries("s")) == 1
    assert len(store) == 1
    clock.now = 30
    assert await store.entries("s") == []
    assert len(store) == 0


async def test_session_count_is_bounded():
    store = MemoryChunkStore(capacity=1, policy_factory=LRUPolicy, max_sessions=3)
    for i in range(10):
        await store.admit(f"s{i}", [entry("a")])
    alive = [i for i in range(10) if await store.entries(f"s{i}")]
    assert alive == [7, 8, 9]
    assert len(store) == 3


class TestMemoryChunkStoreContract(ChunkStoreContract):
    @pytest.fixture
    def make_store(self):
        return lambda capacity, policy: MemoryChunkStore(capacity=capacity, policy_factory=policy)


async def test_entries_keep_the_order_of_one_by_one_admission():
    # k1 is evicted by k3 and re-admitted: it goes last, as admitting one at a time would.
    store = MemoryChunkStore(capacity=2, policy_factory=LRUPolicy)
    evicted = await store.admit("s", [entry(k) for k in ["k1", "k2", "k3", "k1"]])
    assert evicted == ["k1", "k2"]
    assert [e.chunk.id for e in await store.entries("s")] == ["k3", "k1"]


async def test_a_commit_that_keeps_losing_gives_up():
    class Contended(MemoryChunkStore):
        async def commit(self, session, version, policy, written, evicted):
            return False

    store = Contended(capacity=2, policy_factory=LRUPolicy)
    with pytest.raises(StoreUnavailable, match="32 times"):
        await store.admit("s", [entry("a")])


def test_capacity_below_one_is_refused():
    with pytest.raises(ValueError, match="capacity"):
        MemoryChunkStore(capacity=0, policy_factory=LRUPolicy)
