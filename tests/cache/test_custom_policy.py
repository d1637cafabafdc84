"""Custom policies: refused when their state would be lost, used by whichever store the
config picks."""

from __future__ import annotations

import numpy as np
import pytest

from contextual_avatar.cache import (
    CacheConfig,
    CacheEntry,
    FallbackChunkStore,
    LRUPolicy,
    MemoryChunkStore,
    RedisChunkStore,
    build_store,
    check_state,
    policy_factory,
)
from contextual_avatar.errors import ConfigError
from contextual_avatar.testing import EvictionPolicyContract
from contextual_avatar.types import Chunk, SourceRef, Span


def entry(key: str) -> CacheEntry:
    chunk = Chunk(key, "doc", 0, f"text {key}", (Span(0, 4, SourceRef("a.txt")),))
    return CacheEntry(chunk, np.ones(4, dtype=np.float32) / 2)


class MRUPolicy(LRUPolicy):
    """Evicts the most recently used key: tells itself apart from every built-in."""

    def victim(self, incoming: str | None = None) -> str:
        return next(reversed(self._order))


class CountingPolicy(LRUPolicy):
    """Counts hits but does not extend state()/load(): the counts would be lost."""

    def __init__(self) -> None:
        super().__init__()
        self.hits: dict[str, int] = {}
        self.on_evict = print  # a callable is configuration, not state: not checked

    def on_hit(self, key: str) -> None:
        super().on_hit(key)
        self.hits[key] = self.hits.get(key, 0) + 1

    def forget(self, key: str) -> None:
        super().forget(key)
        self.hits.pop(key, None)


class SerialisedCountingPolicy(CountingPolicy):
    def state(self):
        return {**super().state(), "hits": self.hits}

    def load(self, state):
        super().load(state)
        self.hits = {str(k): int(v) for k, v in state.get("hits", {}).items()}


class TestMRUPolicy(EvictionPolicyContract):
    @pytest.fixture
    def make_policy(self):
        return MRUPolicy


class TestSerialisedCountingPolicy(EvictionPolicyContract):
    @pytest.fixture
    def make_policy(self):
        return SerialisedCountingPolicy


def test_redis_store_refuses_a_policy_whose_state_loses_an_attribute(redis_url, key_prefix):
    with pytest.raises(ConfigError, match=r"CountingPolicy loses 'hits'"):
        RedisChunkStore(capacity=3, policy_factory=CountingPolicy, url=redis_url, prefix=key_prefix)


def test_state_that_is_not_json_is_refused():
    class SetPolicy(LRUPolicy):
        def state(self):
            return {"order": set(self)}

    with pytest.raises(ConfigError, match=r"SetPolicy\.state\(\) is not JSON-serialisable"):
        check_state(SetPolicy)


def test_the_memory_store_keeps_policies_in_process_and_accepts_it():
    MemoryChunkStore(capacity=3, policy_factory=CountingPolicy)


async def test_a_policy_that_extends_its_state_keeps_it_through_redis(redis_url, key_prefix):
    made: list[SerialisedCountingPolicy] = []

    def factory() -> SerialisedCountingPolicy:
        made.append(SerialisedCountingPolicy())
        return made[-1]

    store = RedisChunkStore(capacity=3, policy_factory=factory, url=redis_url, prefix=key_prefix)
    await store.admit("s", [entry("a")])
    await store.touch("s", ["a"])
    await store.touch("s", ["a"])
    policy, _ = await store.load_session("s")
    assert isinstance(policy, SerialisedCountingPolicy)
    assert policy.hits == {"a": 2}
    await store.aclose()


async def test_build_store_applies_a_custom_policy_in_memory():
    store = build_store(CacheConfig(capacity=2, policy="fifo"), policy=MRUPolicy)
    assert isinstance(store, MemoryChunkStore)
    assert store.capacity == 2
    assert await store.admit("s", [entry("a"), entry("b")]) == []
    assert await store.admit("s", [entry("c")]) == ["b"]  # FIFO would evict "a"
    assert len(await store.entries("s")) == 2


async def test_build_store_applies_a_custom_policy_to_redis_and_its_fallback(redis_url, key_prefix):
    config = CacheConfig(
        store="redis", redis_url=redis_url, key_prefix=key_prefix, capacity=2, policy="fifo"
    )
    plain = build_store(config.model_copy(update={"fallback": False}), policy=MRUPolicy)
    wrapped = build_store(config, policy=MRUPolicy)
    assert isinstance(plain, RedisChunkStore)
    assert isinstance(wrapped, FallbackChunkStore)
    for store in (plain, wrapped.primary, wrapped.fallback):
        assert store.capacity == 2
        assert await store.admit("s", [entry("a"), entry("b")]) == []
        assert await store.admit("s", [entry("c")]) == ["b"]
        assert {e.chunk.id for e in await store.entries("s")} == {"a", "c"}
        await store.clear("s")
    await plain.aclose()
    await wrapped.aclose()


def test_build_store_refuses_a_policy_that_loses_state_for_redis(redis_url):
    with pytest.raises(ConfigError, match="'hits'"):
        build_store(CacheConfig(store="redis", redis_url=redis_url), policy=CountingPolicy)


def test_build_store_refuses_a_factory_that_does_not_make_a_policy():
    with pytest.raises(ConfigError, match="EvictionPolicy"):
        build_store(CacheConfig(), policy=dict)  # type: ignore[arg-type]


def test_policy_factory_returns_the_custom_factory_or_the_configured_one():
    assert policy_factory(CacheConfig(policy="lru"), policy=MRUPolicy) is MRUPolicy
    assert policy_factory(CacheConfig(policy="lru")) is LRUPolicy
    lfu = policy_factory(CacheConfig(policy="lfu", lfu_decay_every=3))()
    assert lfu.decay_every == 3  # type: ignore[attr-defined]
