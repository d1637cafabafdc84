"""What every eviction policy owes, reused by one test class per policy."""

from __future__ import annotations

from typing import ClassVar

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contextual_avatar.cache import EvictionPolicy

keys = st.text(min_size=1, max_size=4, alphabet="abcdefgh")
ops = st.lists(st.tuples(st.sampled_from(["admit", "hit"]), keys), max_size=60)


def run(policy: EvictionPolicy, operations: list[tuple[str, str]], capacity: int) -> set[str]:
    """Drive a policy like a store does, returning the resident set."""
    resident: set[str] = set()
    for op, key in operations:
        if op == "hit":
            if key in resident:
                policy.on_hit(key)
            continue
        if key not in resident and len(resident) >= capacity:
            victim = policy.victim(key)
            assert victim in resident, "the victim must be resident"
            policy.forget(victim)
            resident.discard(victim)
        policy.on_admit(key)
        resident.add(key)
    return resident


class PolicyContract:
    policy_cls: ClassVar[type[EvictionPolicy]]

    # Each subclass runs this with its own policy: the "executor" differs by design.
    @settings(suppress_health_check=[HealthCheck.differing_executors])
    @given(operations=ops, capacity=st.integers(min_value=1, max_value=6))
    def test_tracks_exactly_the_resident_keys(self, operations, capacity):
        policy = self.policy_cls()
        resident = run(policy, operations, capacity)
        assert set(policy) == resident
        assert len(policy) == len(resident) <= capacity

    def test_forget_removes(self):
        policy = self.policy_cls()
        policy.on_admit("a")
        policy.on_admit("b")
        policy.forget("a")
        assert "a" not in policy
        assert policy.victim() == "b"

    def test_readmit_does_not_duplicate(self):
        policy = self.policy_cls()
        policy.on_admit("a")
        policy.on_admit("a")
        assert len(policy) == 1
