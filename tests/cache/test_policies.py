from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from contextual_avatar.cache import FIFOPolicy, LRUPolicy
from tests.cache.contract import PolicyContract, keys, run


class TestFIFOPolicy(PolicyContract):
    policy_cls = FIFOPolicy

    def test_hits_do_not_save_a_key(self):
        p = FIFOPolicy()
        for k in "abc":
            p.on_admit(k)
        p.on_hit("a")
        assert p.victim() == "a"


class TestLRUPolicy(PolicyContract):
    policy_cls = LRUPolicy

    def test_hit_protects_a_key(self):
        p = LRUPolicy()
        for k in "abc":
            p.on_admit(k)
        p.on_hit("a")
        assert p.victim() == "b"

    @given(operations=st.lists(st.tuples(st.sampled_from(["admit", "hit"]), keys), max_size=60))
    def test_victim_is_the_least_recently_used(self, operations):
        p = LRUPolicy()
        resident = run(p, operations, capacity=4)
        last_use: dict[str, int] = {}
        for t, (op, key) in enumerate(operations):
            if op == "admit" or key in last_use:
                last_use[key] = t
        if resident:
            assert p.victim() == min(resident, key=lambda k: last_use[k])
