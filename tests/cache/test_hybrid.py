from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contextual_avatar.cache import (
    HybridPolicy,
    LFUPolicy,
    LRUPolicy,
    belady_hits,
    policy_hits,
)
from contextual_avatar.testing import EvictionPolicyContract


class TestHybridPolicy(EvictionPolicyContract):
    @pytest.fixture
    def make_policy(self):
        return HybridPolicy

    def test_without_returns_every_other_document_is_stale(self):
        p = HybridPolicy()
        for k in ["a:0", "a:1", "b:0", "b:1"]:
            p.on_admit(k)
        # No document has come back yet: a is stale, its least recent key goes (LRU).
        assert p.stale_after() == 0
        assert p.victim("b:2") == "a:0"

    def test_learns_the_return_gap_from_documents_that_come_back(self):
        p = HybridPolicy()
        for k in ["a:0", "b:0", "c:0", "a:0"]:
            p.on_admit(k)
        # a came back after 3 uses, so documents idle that long are still live threads.
        assert p.stale_after() == 3

    def test_live_thread_replaces_its_most_used_key(self):
        p = HybridPolicy()
        for k in ["a:0", "b:0", "c:0", "a:0", "a:1", "a:1", "a:1", "b:0"]:
            p.on_admit(k)
        # All three threads are live; a moves on to a new chunk and gives up the one
        # it has used most (a:1, three times), not another thread's chunk.
        assert p.victim("a:2") == "a:1"

    def test_a_document_without_keys_takes_the_least_used_key(self):
        p = HybridPolicy()
        for k in ["a:0", "b:0", "c:0", "a:0", "b:0", "c:0", "c:0"]:
            p.on_admit(k)
        # d holds nothing; every thread is live: the least used key goes (a:0 and b:0
        # are used twice, a:0 less recently).
        assert p.victim("d:0") == "a:0"

    def test_idle_thread_goes_before_live_ones(self):
        p = HybridPolicy()
        for k in ["a:0", "b:0", "a:0", "b:0", "c:0", "c:1", "b:0", "c:1", "b:0"]:
            p.on_admit(k)
        # Largest return gap is 3 (c:1 -> b:0 ... c:1); a was last used 7 uses ago.
        assert p.victim("b:1") == "a:0"

    def test_unknown_incoming_key_spares_every_frontier(self):
        p = HybridPolicy()
        for k in ["a:0", "b:0", "a:0", "b:0", "a:1"]:
            p.on_admit(k)
        # a:1 and b:0 are their documents' frontiers; a:0 is not, though used more.
        assert p.victim() == "a:0"

    def test_a_fresh_document_window_does_not_evict_itself(self):
        p = HybridPolicy()
        for k in ["b:0", "b:1", "c:0", "c:1", "b:1", "c:1"]:
            p.on_admit(k)
        evicted = []
        for k in ["a:2", "a:1", "a:0"]:  # a miss admits a window of a, best chunk last
            evicted.append(p.admit(k, 4))
        # The other threads' non-frontier chunks go first; the window's once-used
        # chunks are not taken as "a's most used" (the previous rule evicted a:2, then
        # a:1), and its oldest chunk goes only when just frontiers are left besides it.
        assert evicted == ["b:0", "c:0", "a:2"]
        assert set(p) == {"b:1", "c:1", "a:1", "a:0"}

    def test_only_frontiers_left_least_used_goes(self):
        p = HybridPolicy()
        for k in ["a:0", "b:0", "c:0", "a:0", "b:0", "c:0", "b:0"]:
            p.on_admit(k)
        assert p.victim("d:0") == "a:0"

    def test_state_round_trip(self):
        p = HybridPolicy()
        for k in ["a:0", "b:0", "c:0", "a:1", "b:0", "a:1"]:
            p.on_admit(k)
        q = HybridPolicy.from_state(json.loads(json.dumps(p.state())))
        assert q.state() == p.state()
        for incoming in (None, "a:2", "b:1", "d:0"):
            assert q.victim(incoming) == p.victim(incoming)


docs = st.sampled_from("abc")
trace = st.lists(st.tuples(docs, st.integers(0, 4)).map(lambda t: f"{t[0]}:{t[1]}"), max_size=80)


@given(trace=trace, capacity=st.integers(1, 6))
def test_never_beats_belady(trace, capacity):
    assert sum(policy_hits(trace, capacity, HybridPolicy())) <= sum(belady_hits(trace, capacity))


def test_round_robin_meeting_beats_lru():
    # Three conversations interleaved in blocks, each walking its own document.
    trace = []
    for step in range(4):
        for d in "abc":
            trace += [f"{d}:{step}", f"{d}:{step}", f"{d}:{step + 1}"]
    hybrid = sum(policy_hits(trace, 3, HybridPolicy()))
    lru = sum(policy_hits(trace, 3, LRUPolicy()))
    assert hybrid > lru


def test_round_robin_meeting_beats_lfu_when_threads_outnumber_slots():
    # Three threads, two slots: LRU and LFU thrash; the hybrid keeps live threads' places.
    trace = []
    for step in range(5):
        for d in "abc":
            trace += [f"{d}:{step}", f"{d}:{step}", f"{d}:{step}"]
    hybrid = sum(policy_hits(trace, 2, HybridPolicy()))
    assert hybrid >= sum(policy_hits(trace, 2, LFUPolicy()))
    assert hybrid >= sum(policy_hits(trace, 2, LRUPolicy()))


def test_drifting_conversation_matches_lru():
    # One conversation walking through documents that never come back: no thread is
    # live, so the hybrid evicts like LRU.
    trace = [f"{d}:{i // 2}" for d in "abcdef" for i in range(8)]
    for capacity in (1, 2, 3, 5):
        assert policy_hits(trace, capacity, HybridPolicy()) == policy_hits(
            trace, capacity, LRUPolicy()
        )
