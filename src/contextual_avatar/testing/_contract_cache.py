"""Contract suites for eviction policies and chunk stores, for a host's own to pass.

Subclass one in a test module and give it ONE fixture; every test of the suite then
runs against your implementation. They check only what the protocols promise, so a
policy or store that passes can be handed to :func:`~contextual_avatar.cache.build_store`
or a :class:`~contextual_avatar.cache.ChunkCache` with confidence::

    from contextual_avatar.testing import ChunkStoreContract, EvictionPolicyContract

    class TestMyPolicy(EvictionPolicyContract):
        @pytest.fixture
        def make_policy(self):
            return MyPolicy  # any zero-argument factory

    class TestMyStore(ChunkStoreContract):
        @pytest.fixture
        def make_store(self, redis_url):
            return lambda capacity, policy: MyStore(capacity=capacity, policy_factory=policy)

Store tests are plain functions that run each example in its own event loop
(``asyncio.run``), so they need no async plugin; ``make_store`` is called inside that
loop, and the suite closes every store it makes. The sessions a test uses are cleared
first, so a fixture may reuse one Redis namespace for all examples.

This module imports pytest and Hypothesis; only tests import it.
"""

from __future__ import annotations

import asyncio
import json
import zlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contextual_avatar.cache import (
    CacheEntry,
    ChunkStore,
    EvictionPolicy,
    FIFOPolicy,
    HybridPolicy,
    LFUPolicy,
    LRUPolicy,
    PolicyFactory,
    check_state,
)
from contextual_avatar.types import Chunk, SourceRef, Span

__all__ = ["ChunkStoreContract", "EvictionPolicyContract", "StoreMaker"]

#: ``make_store(capacity, policy_factory)`` builds an empty store of that capacity.
StoreMaker = Callable[[int, PolicyFactory], ChunkStore]

# Chunk-id-shaped keys over three documents, so document-aware policies have groups.
_KEYS = [f"{d}:{i}" for d in "abc" for i in range(4)]
_keys = st.sampled_from(_KEYS)
_ops = st.lists(st.tuples(st.sampled_from(["admit", "hit"]), _keys), max_size=60)
_capacities = st.integers(min_value=1, max_value=6)
# One suite runs under many subclasses (different "executors"), and its fixtures only
# return factories, so reusing them across examples is safe.
_SUPPRESS = [HealthCheck.differing_executors, HealthCheck.function_scoped_fixture]
_policy_settings = settings(suppress_health_check=_SUPPRESS, deadline=None)
_store_settings = settings(suppress_health_check=_SUPPRESS, deadline=None, max_examples=30)

_HOSTILE = ["*", "a:b", "a", "line\nbreak", "{tag}", "ü\x00", "ca:cache:*", " "]
_sessions = st.one_of(st.sampled_from(_HOSTILE), st.text(min_size=1, max_size=12))
_BUILTIN: dict[str, PolicyFactory] = {
    "fifo": FIFOPolicy,
    "lru": LRUPolicy,
    "lfu": LFUPolicy,
    "hybrid": HybridPolicy,
}


def _drive(policy: EvictionPolicy, operations: Sequence[tuple[str, str]], capacity: int) -> None:
    for op, key in operations:
        if op == "hit":
            policy.hit(key)
        else:
            policy.admit(key, capacity)


def _json(value: object) -> Any:
    return json.loads(json.dumps(value))


class EvictionPolicyContract:
    """What every :class:`~contextual_avatar.cache.EvictionPolicy` owes its stores.

    Override the ``make_policy`` fixture to return a zero-argument factory of fresh
    policies (a class works). Policies are driven only through
    :meth:`~EvictionPolicy.admit` and :meth:`~EvictionPolicy.hit`, as stores drive them.
    """

    @pytest.fixture
    def make_policy(self) -> PolicyFactory:
        """Override: a zero-argument factory of the policy under test."""
        raise NotImplementedError("override the make_policy fixture")

    @_policy_settings
    @given(operations=_ops, capacity=_capacities)
    def test_capacity_is_never_exceeded(
        self, make_policy: PolicyFactory, operations: list[tuple[str, str]], capacity: int
    ) -> None:
        policy = make_policy()
        for op, key in operations:
            _drive(policy, [(op, key)], capacity)
            assert len(policy) <= capacity
            assert len(set(policy)) == len(policy), "resident keys are listed once"

    @_policy_settings
    @given(operations=_ops, capacity=_capacities)
    def test_admitted_key_is_resident_until_evicted(
        self, make_policy: PolicyFactory, operations: list[tuple[str, str]], capacity: int
    ) -> None:
        policy = make_policy()
        resident: set[str] = set()
        for op, key in operations:
            if op == "hit":
                assert policy.hit(key) == (key in resident)
                continue
            victim = policy.admit(key, capacity)
            resident = (resident - {victim}) | {key}
            assert set(policy) == resident
            assert key in policy

    @_policy_settings
    @given(operations=_ops, capacity=_capacities, incoming=st.one_of(st.none(), _keys))
    def test_victim_is_always_resident(
        self,
        make_policy: PolicyFactory,
        operations: list[tuple[str, str]],
        capacity: int,
        incoming: str | None,
    ) -> None:
        policy = make_policy()
        _drive(policy, operations, capacity)
        if len(policy):
            assert policy.victim(incoming) in policy

    @_policy_settings
    @given(operations=_ops, capacity=_capacities, key=_keys)
    def test_admit_returns_the_evicted_key(
        self,
        make_policy: PolicyFactory,
        operations: list[tuple[str, str]],
        capacity: int,
        key: str,
    ) -> None:
        policy = make_policy()
        _drive(policy, operations, capacity)
        before = set(policy)
        victim = policy.admit(key, capacity)
        if key in before or len(before) < capacity:
            assert victim is None, "nothing is evicted while there is room"
        else:
            assert victim in before
            assert victim not in policy
        assert set(policy) == (before - {victim}) | {key}

    def test_hit_of_an_unknown_key_is_ignored(self, make_policy: PolicyFactory) -> None:
        policy = make_policy()
        for key in ("a:0", "b:0"):
            policy.admit(key, 4)
        before = _json(policy.state())
        assert not policy.hit("z:9")
        assert _json(policy.state()) == before
        assert set(policy) == {"a:0", "b:0"}

    def test_readmitting_a_resident_key_keeps_one_copy(self, make_policy: PolicyFactory) -> None:
        policy = make_policy()
        assert policy.admit("a:0", 2) is None
        assert policy.admit("a:0", 2) is None
        assert list(policy) == ["a:0"]

    def test_forget_removes_the_key(self, make_policy: PolicyFactory) -> None:
        policy = make_policy()
        policy.admit("a:0", 3)
        policy.admit("b:0", 3)
        policy.forget("a:0")
        assert "a:0" not in policy
        assert policy.victim() == "b:0"

    @_policy_settings
    @given(first=_ops, then=_ops, capacity=_capacities)
    def test_state_round_trip_behaves_identically(
        self,
        make_policy: PolicyFactory,
        first: list[tuple[str, str]],
        then: list[tuple[str, str]],
        capacity: int,
    ) -> None:
        # Through JSON and a fresh policy from the same factory, as a store does it.
        policy = make_policy()
        _drive(policy, first, capacity)
        restored = make_policy()
        restored.load(_json(policy.state()))
        assert list(restored) == list(policy)
        for op, key in then:
            if op == "hit":
                assert restored.hit(key) == policy.hit(key)
            else:
                assert restored.admit(key, capacity) == policy.admit(key, capacity)
            assert list(restored) == list(policy)
        assert _json(restored.state()) == _json(policy.state())
        if len(policy):
            assert restored.victim() == policy.victim()

    def test_state_carries_every_attribute(self, make_policy: PolicyFactory) -> None:
        check_state(make_policy)  # raises ConfigError naming what would be lost


def _entry(key: str, seed: int = 0) -> CacheEntry:
    doc, _, ordinal = key.rpartition(":")
    text = f"text of {key} ({seed})"
    spans = (Span(0, len(text), SourceRef("contract.txt", page=1)),)
    chunk = Chunk(key, doc or key, int(ordinal) if ordinal.isdigit() else 0, text, spans)
    rng = np.random.default_rng(zlib.crc32(f"{key}/{seed}".encode()))
    return CacheEntry(chunk, rng.standard_normal(8).astype(np.float32))


def _same_entry(a: CacheEntry, b: CacheEntry) -> bool:
    return a.chunk == b.chunk and np.array_equal(a.vector, b.vector)


async def _ids(store: ChunkStore, session: str) -> set[str]:
    return {e.chunk.id for e in await store.entries(session)}


class ChunkStoreContract:
    """What every :class:`~contextual_avatar.cache.ChunkStore` promises its cache.

    Override the ``make_store`` fixture to return ``make_store(capacity,
    policy_factory)`` building an empty store (see the module docstring).
    """

    @pytest.fixture
    def make_store(self) -> StoreMaker:
        """Override: builds the store under test with a capacity and a policy."""
        raise NotImplementedError("override the make_store fixture")

    def _run(
        self,
        make_store: StoreMaker,
        capacity: int,
        policy: PolicyFactory,
        sessions: Sequence[str],
        body: Callable[[ChunkStore], Awaitable[None]],
    ) -> None:
        async def main() -> None:
            store = make_store(capacity, policy)
            try:
                for session in sessions:
                    await store.clear(session)
                await body(store)
            finally:
                await store.aclose()

        asyncio.run(main())

    @_store_settings
    @given(
        capacity=st.integers(min_value=1, max_value=4),
        policy=st.sampled_from(sorted(_BUILTIN)),
        steps=st.lists(
            st.tuples(
                st.sampled_from(["admit", "touch"]),
                st.lists(st.one_of(_keys, st.just("z:9")), min_size=1, max_size=4),
                st.integers(0, 2),
            ),
            max_size=10,
        ),
    )
    def test_admit_keeps_capacity_and_reports_every_eviction(
        self,
        make_store: StoreMaker,
        capacity: int,
        policy: str,
        steps: list[tuple[str, list[str], int]],
    ) -> None:
        async def body(store: ChunkStore) -> None:
            model: dict[str, CacheEntry] = {}
            for kind, keys, seed in steps:
                before = set(model)
                if kind == "touch":
                    await store.touch("s", keys)
                    assert await _ids(store, "s") == before, "touch never adds or drops"
                    continue
                entries = [_entry(k, 10 * seed + i) for i, k in enumerate(keys)]
                batch = {e.chunk.id: e for e in entries}  # the last admission of each id
                evicted = await store.admit("s", entries)
                held = {e.chunk.id: e for e in await store.entries("s")}
                assert len(held) <= capacity
                assert set(evicted) <= before | set(batch), "only resident ids are evicted"
                assert (before | set(batch)) - set(held) <= set(evicted), "losses reported"
                assert keys[-1] in held, "the last admitted entry is resident"
                for key, got in held.items():  # what was admitted last, unchanged
                    assert _same_entry(got, batch[key] if key in batch else model[key])
                model = held

        self._run(make_store, capacity, _BUILTIN[policy], ["s"], body)

    def test_eviction_follows_the_policy(self, make_store: StoreMaker) -> None:
        async def body(store: ChunkStore) -> None:
            assert await store.admit("s", [_entry("a:0"), _entry("a:1")]) == []
            await store.touch("s", ["a:0"])
            assert await store.admit("s", [_entry("a:2")]) == ["a:1"]
            assert await _ids(store, "s") == {"a:0", "a:2"}

        self._run(make_store, 2, LRUPolicy, ["s"], body)

    def test_touch_of_unknown_ids_is_ignored(self, make_store: StoreMaker) -> None:
        async def body(store: ChunkStore) -> None:
            await store.touch("nobody", ["a:0"])
            assert await store.entries("nobody") == []
            await store.admit("s", [_entry("a:0")])
            await store.touch("s", ["z:9", "a:0", "z:9"])
            assert await _ids(store, "s") == {"a:0"}

        self._run(make_store, 2, LRUPolicy, ["s", "nobody"], body)

    def test_clear_drops_the_session(self, make_store: StoreMaker) -> None:
        async def body(store: ChunkStore) -> None:
            await store.admit("s", [_entry("a:0"), _entry("a:1")])
            await store.admit("t", [_entry("b:0")])
            await store.clear("s")
            assert await store.entries("s") == []
            assert await _ids(store, "t") == {"b:0"}
            # Nothing of the old session remains: two fresh entries fit without eviction.
            assert await store.admit("s", [_entry("c:0"), _entry("c:1")]) == []
            await store.clear("never-seen")

        self._run(make_store, 2, LRUPolicy, ["s", "t", "never-seen"], body)

    @_store_settings
    @given(names=st.lists(_sessions, min_size=2, max_size=2, unique=True))
    def test_sessions_are_isolated(self, make_store: StoreMaker, names: list[str]) -> None:
        first, second = names

        async def body(store: ChunkStore) -> None:
            await store.admit(first, [_entry("a:0"), _entry("a:1")])
            assert await store.entries(second) == []
            await store.admit(second, [_entry("b:0")])
            await store.touch(second, ["a:0"])
            assert await _ids(store, first) == {"a:0", "a:1"}
            assert await _ids(store, second) == {"b:0"}
            await store.clear(second)
            assert await _ids(store, first) == {"a:0", "a:1"}

        self._run(make_store, 3, LRUPolicy, names, body)
