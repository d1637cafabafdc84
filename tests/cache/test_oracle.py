from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from contextual_avatar.cache import (
    FIFOPolicy,
    LFUPolicy,
    LRUPolicy,
    belady_hits,
    infinite_hits,
    policy_hits,
)

traces = st.lists(st.sampled_from("abcdefg"), max_size=60)


@given(trace=traces, capacity=st.integers(1, 6))
def test_belady_bounds_every_demand_policy(trace, capacity):
    best = sum(belady_hits(trace, capacity))
    for cls in (FIFOPolicy, LRUPolicy, LFUPolicy):
        assert sum(policy_hits(trace, capacity, cls())) <= best
    assert best <= sum(infinite_hits(trace))


@given(trace=traces)
def test_capacity_above_distinct_keys_reaches_infinite(trace):
    cap = max(1, len(set(trace)))
    assert belady_hits(trace, cap) == infinite_hits(trace)
    assert policy_hits(trace, cap, LRUPolicy()) == infinite_hits(trace)


def test_belady_known_case():
    # Capacity 2: when c arrives, a is needed sooner than b, so b goes: a hits, b misses.
    assert belady_hits(list("abcab"), 2) == [False, False, False, True, False]


def test_prefetch_can_beat_belady():
    trace = [f"d:{i}" for i in range(6)]
    nxt = lambda k: [f"d:{int(k.split(':')[1]) + 1}"]  # noqa: E731
    # A miss on d:i brings d:i+1 too, so every other turn hits; demand paging never does.
    assert policy_hits(trace, 2, LRUPolicy(), prefetch=nxt) == [False, True] * 3
    assert sum(belady_hits(trace, 2)) == 0
