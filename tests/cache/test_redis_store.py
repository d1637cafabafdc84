"""The Redis store against a real redis-server: contract, key safety, TTL, outage, and a
Hypothesis state machine that runs the same operations on the memory store and checks
they agree."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from contextual_avatar.cache import (
    CacheConfig,
    CacheEntry,
    FallbackChunkStore,
    HybridPolicy,
    LFUPolicy,
    LRUPolicy,
    MemoryChunkStore,
    RedisChunkStore,
    build_store,
    session_key,
)
from contextual_avatar.errors import StoreUnavailable
from contextual_avatar.testing import ChunkStoreContract
from contextual_avatar.types import Chunk, SourceRef, Span


def entry(key: str, seed: int = 0) -> CacheEntry:
    chunk = Chunk(
        key,
        key.rpartition(":")[0] or "doc",
        0,
        f"text of {key}",
        (Span(0, 4, SourceRef("a.txt", page=1)),),
        offset=3,
    )
    rng = np.random.default_rng(abs(hash((key, seed))) % 2**32)
    return CacheEntry(chunk, rng.standard_normal(8).astype(np.float32))


class TestRedisChunkStoreContract(ChunkStoreContract):
    @pytest.fixture
    def make_store(self, redis_url, key_prefix):
        def make(capacity, policy):
            return RedisChunkStore(
                capacity=capacity, policy_factory=policy, url=redis_url, prefix=key_prefix
            )

        return make


class TestFallbackChunkStoreContract(ChunkStoreContract):
    """Over a live Redis (calls pass through) and a dead one (memory serves)."""

    @pytest.fixture(params=["redis up", "redis down"])
    def make_store(self, request, redis_url, key_prefix):
        url = redis_url if request.param == "redis up" else "redis://127.0.0.1:1/0"

        def make(capacity, policy):
            return FallbackChunkStore(
                RedisChunkStore(
                    capacity=capacity, policy_factory=policy, url=url, prefix=key_prefix
                ),
                MemoryChunkStore(capacity=capacity, policy_factory=policy),
            )

        return make


async def test_round_trip_keeps_chunk_and_vector(redis_url, key_prefix):
    store = RedisChunkStore(capacity=3, policy_factory=LRUPolicy, url=redis_url, prefix=key_prefix)
    e = entry("d:1")
    await store.admit("s", [e])
    (got,) = await store.entries("s")
    assert got.chunk == e.chunk
    assert np.array_equal(got.vector, e.vector)
    await store.aclose()


async def test_hostile_session_ids_stay_apart(redis_url, key_prefix, redis_client):
    store = RedisChunkStore(capacity=2, policy_factory=LRUPolicy, url=redis_url, prefix=key_prefix)
    ids = ["*", "a:b", "a", "b", "line\nbreak", "{tag}", "ü\x00"]
    for i, sid in enumerate(ids):
        await store.admit(sid, [entry(f"d:{i}")])
    for i, sid in enumerate(ids):
        assert [e.chunk.id for e in await store.entries(sid)] == [f"d:{i}"]
    await store.clear("*")
    assert await store.entries("a") != []
    keys = [k.decode() for k in await redis_client.keys(f"{key_prefix}:*")]
    assert all("\n" not in k and "*" not in k.removeprefix(key_prefix) for k in keys)
    # Every key of a session shares one cluster hash tag.
    tags = {
        session_key(key_prefix, "a:b", kind).split("{")[1].split("}")[0]
        for kind in ("entries", "meta", "history", "turns")
    }
    assert len(tags) == 1
    await store.aclose()


async def test_sessions_expire_after_ttl(redis_url, key_prefix, redis_client):
    store = RedisChunkStore(
        capacity=2, policy_factory=LRUPolicy, url=redis_url, prefix=key_prefix, ttl_s=120
    )
    await store.admit("s", [entry("d:0")])
    ttl = await redis_client.pttl(session_key(key_prefix, "s", "entries"))
    assert 0 < ttl <= 120_000
    await store.aclose()


async def test_concurrent_writers_never_exceed_capacity(redis_url, key_prefix):
    stores = [
        RedisChunkStore(capacity=3, policy_factory=LRUPolicy, url=redis_url, prefix=key_prefix)
        for _ in range(4)
    ]
    await asyncio.gather(
        *(s.admit("shared", [entry(f"d:{i}-{j}")]) for i, s in enumerate(stores) for j in range(5))
    )
    got = await stores[0].entries("shared")
    assert len(got) == 3
    for s in stores:
        await s.aclose()


async def test_outage_raises_store_unavailable(key_prefix):
    store = RedisChunkStore(
        capacity=2, policy_factory=LRUPolicy, url="redis://127.0.0.1:1/0", prefix=key_prefix
    )
    with pytest.raises(StoreUnavailable):
        await store.entries("s")
    with pytest.raises(StoreUnavailable):
        await store.admit("s", [entry("d:0")])
    await store.aclose()


def test_build_store_picks_redis(redis_url):
    store = build_store(
        CacheConfig(store="redis", redis_url=redis_url, policy="lfu", fallback=False)
    )
    assert isinstance(store, RedisChunkStore)
    asyncio.run(store.aclose())
    # By default Redis is wrapped so an outage degrades to process memory.
    wrapped = build_store(CacheConfig(store="redis", redis_url=redis_url, policy="lfu"))
    assert isinstance(wrapped, FallbackChunkStore)
    assert isinstance(wrapped.primary, RedisChunkStore)
    asyncio.run(wrapped.aclose())


def test_config_rejects_bad_prefix_and_url():
    with pytest.raises(ValueError, match="key_prefix"):
        CacheConfig(key_prefix="a b{c}")
    with pytest.raises(ValueError, match="redis_url"):
        CacheConfig(redis_url="http://x")


# -- model-based: memory and Redis agree on every random operation sequence -------------

SESSIONS = ["s1", "a:b", "*"]
KEYS = [f"{d}:{i}" for d in "xy" for i in range(4)]
POLICIES = {"lru": LRUPolicy, "lfu": lambda: LFUPolicy(decay_every=3), "hybrid": HybridPolicy}


def make_machine(redis_url: str):
    class StoresAgree(RuleBasedStateMachine):
        @initialize(policy=st.sampled_from(sorted(POLICIES)), capacity=st.integers(1, 4))
        def start(self, policy, capacity):
            import uuid

            factory = POLICIES[policy]
            self.loop = asyncio.new_event_loop()
            self.memory = MemoryChunkStore(capacity=capacity, policy_factory=factory)
            self.redis = RedisChunkStore(
                capacity=capacity,
                policy_factory=factory,
                url=redis_url,
                prefix=f"sm:{uuid.uuid4().hex[:8]}",
            )

        def both(self, method, *args):
            a = self.loop.run_until_complete(getattr(self.memory, method)(*args))
            b = self.loop.run_until_complete(getattr(self.redis, method)(*args))
            return a, b

        @rule(
            session=st.sampled_from(SESSIONS),
            keys=st.lists(st.sampled_from(KEYS), min_size=1, max_size=4),
            seed=st.integers(0, 3),
        )
        def admit(self, session, keys, seed):
            batch = [entry(k, seed) for k in keys]
            evicted_mem, evicted_redis = self.both("admit", session, batch)
            assert evicted_mem == evicted_redis

        @rule(session=st.sampled_from(SESSIONS), keys=st.lists(st.sampled_from(KEYS), max_size=3))
        def touch(self, session, keys):
            self.both("touch", session, keys)

        @rule(session=st.sampled_from(SESSIONS))
        def clear(self, session):
            self.both("clear", session)

        @invariant()
        def same_entries(self):
            if not hasattr(self, "memory"):
                return
            for session in SESSIONS:
                a, b = self.both("entries", session)
                assert len(a) <= self.memory.capacity
                as_dict = lambda es: {e.chunk.id: (e.chunk, e.vector.tobytes()) for e in es}  # noqa: E731
                assert as_dict(a) == as_dict(b)

        def teardown(self):
            if hasattr(self, "memory"):
                self.loop.run_until_complete(self.redis.aclose())
                self.loop.close()

    return StoresAgree


def test_memory_and_redis_stores_agree(redis_url):
    machine = make_machine(redis_url)
    machine.TestCase.settings = settings(max_examples=60, stateful_step_count=25, deadline=None)
    machine.TestCase("runTest").runTest()
