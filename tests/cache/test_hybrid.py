from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from contextual_avatar.cache import HybridPolicy, LRUPolicy, belady_hits, policy_hits
from tests.cache.contract import PolicyContract


class TestHybridPolicy(PolicyContract):
    policy_cls = HybridPolicy

    def test_non_frontier_chunks_go_first(self):
        p = HybridPolicy()
        for k in ["a:0", "a:1", "b:0", "a:2"]:
            p.on_admit(k)
        # b:0 is older than a:1 but is b's frontier; a:0 is the oldest non-frontier.
        assert p.victim() == "a:0"

    def test_loop_rule_keeps_the_group_left_longest_ago(self):
        p = HybridPolicy()
        for k in ["a:0", "b:0", "c:0"]:
            p.on_admit(k)
        # Only frontiers left; the current group is c, the loop rule gives up b (left last).
        assert p.victim() == "b:0"

    def test_wrong_loop_evictions_shift_to_recency(self):
        p = HybridPolicy()
        for _ in range(3):
            for k in ["a:0", "b:0", "c:0"]:
                p.on_admit(k)
            v = p.victim()
            p.forget(v)
            p.on_admit(v)  # the evicted key comes straight back: the rule was wrong
        assert p.loop_weight < 0.5

    def test_state_round_trip(self):
        p = HybridPolicy()
        for k in ["a:0", "b:0", "c:0", "a:1"]:
            p.on_admit(k)
        q = HybridPolicy.from_state(p.state())
        assert q.state() == p.state()
        assert q.victim() == p.victim()


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
