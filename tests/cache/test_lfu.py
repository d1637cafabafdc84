from __future__ import annotations

from functools import partial

import pytest

from contextual_avatar.cache import LFUPolicy
from contextual_avatar.testing import EvictionPolicyContract


class TestLFUPolicy(EvictionPolicyContract):
    @pytest.fixture
    def make_policy(self):
        return LFUPolicy

    def test_frequent_key_survives_recent_ones(self):
        p = LFUPolicy(decay_every=1000)
        for k in "abc":
            p.on_admit(k)
        p.on_hit("a")
        p.on_hit("a")
        p.on_hit("b")
        assert p.victim() == "c"

    def test_ties_go_to_the_least_recently_used(self):
        p = LFUPolicy(decay_every=1000)
        for k in "abc":
            p.on_admit(k)
        p.on_hit("a")
        p.on_hit("b")
        p.on_hit("c")
        assert p.victim() == "a"

    def test_old_popularity_decays(self):
        p = LFUPolicy(decay_every=4)
        p.on_admit("old")
        for _ in range(7):
            p.on_hit("old")
        before = p.count("old")
        p.on_admit("new")
        for _ in range(12):
            p.on_hit("new")
        assert p.count("old") < before / 4
        assert p.victim() == "old"

    def test_state_round_trip_behaves_the_same(self):
        p = LFUPolicy(decay_every=3)
        for k in "abcab":
            p.on_admit(k)
        q = LFUPolicy.from_state(p.state(), decay_every=3)
        assert list(q) == list(p)
        assert q.victim() == p.victim()
        p.on_hit("c")
        q.on_hit("c")
        assert q.state() == p.state()

    def test_rejects_bad_decay(self):
        with pytest.raises(ValueError, match="decay_every"):
            LFUPolicy(decay_every=0)


class TestLFUPolicyFastDecay(EvictionPolicyContract):
    """Constructor options survive the state round trip (the factory rebuilds them)."""

    @pytest.fixture
    def make_policy(self):
        return partial(LFUPolicy, decay_every=3)
