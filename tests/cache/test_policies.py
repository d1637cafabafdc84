from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contextual_avatar.cache import FIFOPolicy, LRUPolicy
from contextual_avatar.testing import EvictionPolicyContract

keys = st.text(min_size=1, max_size=4, alphabet="abcdefgh")


class TestFIFOPolicy(EvictionPolicyContract):
    @pytest.fixture
    def make_policy(self):
        return FIFOPolicy

    def test_hits_do_not_save_a_key(self):
        p = FIFOPolicy()
        for k in "abc":
            p.on_admit(k)
        p.on_hit("a")
        assert p.victim() == "a"


class TestLRUPolicy(EvictionPolicyContract):
    @pytest.fixture
    def make_policy(self):
        return LRUPolicy

    def test_hit_protects_a_key(self):
        p = LRUPolicy()
        for k in "abc":
            p.on_admit(k)
        p.on_hit("a")
        assert p.victim() == "b"

    @given(operations=st.lists(st.tuples(st.sampled_from(["admit", "hit"]), keys), max_size=60))
    def test_victim_is_the_least_recently_used(self, operations):
        p = LRUPolicy()
        last_use: dict[str, int] = {}
        for t, (op, key) in enumerate(operations):
            if op == "hit":
                if p.hit(key):
                    last_use[key] = t
            else:
                evicted = p.admit(key, 4)
                last_use.pop(evicted, None)
                last_use[key] = t
        if len(p):
            assert p.victim() == min(p, key=lambda k: last_use[k])


def test_admit_evicts_the_victim_only_when_full():
    p = LRUPolicy()
    assert [p.admit(k, 2) for k in "ab"] == [None, None]
    assert p.admit("a", 2) is None  # resident: a hit, no eviction
    assert p.admit("c", 2) == "b"
    assert list(p) == ["a", "c"]


def test_a_victim_that_is_not_resident_is_an_error():
    class Broken(LRUPolicy):
        def victim(self, incoming=None):
            return "ghost"

    p = Broken()
    p.admit("a", 1)
    with pytest.raises(RuntimeError, match="ghost"):
        p.admit("b", 1)
