"""Offline replays of a trace of needed keys: any policy, Belady's optimum, infinite.

A trace is the sequence of keys a session needs, one per turn. Demand paging admits a
key on its miss; :func:`belady_hits` evicts the key whose next use is furthest
(the demand-paging optimum), :func:`infinite_hits` never evicts (only compulsory
misses). ``prefetch`` admits extra keys on a miss (e.g. the next chunk of the
document), which no demand-paging policy can do, so it may beat Belady.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from contextual_avatar.cache._policy import EvictionPolicy

__all__ = ["belady_hits", "infinite_hits", "policy_hits"]

Prefetch = Callable[[str], Sequence[str]]


def policy_hits(
    trace: Sequence[str],
    capacity: int,
    policy: EvictionPolicy,
    *,
    prefetch: Prefetch | None = None,
) -> list[bool]:
    """Hit (key resident before its turn) per turn of ``trace`` under ``policy``.

    Args:
        trace: Needed keys in order.
        capacity: Resident keys at most.
        policy: A fresh policy (driven through :meth:`~EvictionPolicy.admit` and
            :meth:`~EvictionPolicy.hit`, exactly as a store drives it).
        prefetch: Extra keys to admit after the needed one on a miss (admitted first,
            so the needed key is the most recent).
    """
    hits: list[bool] = []
    for key in trace:
        if policy.hit(key):
            hits.append(True)
            continue
        hits.append(False)
        extra = [k for k in (prefetch(key) if prefetch else ()) if k != key]
        for k in extra[: capacity - 1]:
            if k not in policy:
                policy.admit(k, capacity)
        policy.admit(key, capacity)
    return hits


def belady_hits(trace: Sequence[str], capacity: int) -> list[bool]:
    """Hits under Belady's MIN: on a miss evict the key used furthest in the future."""
    next_use: list[float] = [math.inf] * len(trace)
    seen: dict[str, int] = {}
    for t in range(len(trace) - 1, -1, -1):
        next_use[t] = seen.get(trace[t], math.inf)
        seen[trace[t]] = t
    resident: dict[str, float] = {}  # key -> its next use
    hits = []
    for t, key in enumerate(trace):
        hit = key in resident
        hits.append(hit)
        if not hit and len(resident) >= capacity:
            del resident[max(resident, key=lambda k: resident[k])]
        resident[key] = next_use[t]
    return hits


def infinite_hits(trace: Sequence[str]) -> list[bool]:
    """Hits of a cache that never evicts: every repeat is a hit."""
    seen: set[str] = set()
    hits = []
    for key in trace:
        hits.append(key in seen)
        seen.add(key)
    return hits
