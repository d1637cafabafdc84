"""Eviction policies: pure bookkeeping over keys, no storage, no I/O.

A policy is told when a key is admitted, hit or forgotten, and names the key to evict.
The base class keeps insertion order; each policy overrides only what differs. Every
policy can export its state as JSON-ready data (:meth:`EvictionPolicy.state`) and be
rebuilt from it (:meth:`EvictionPolicy.from_state`), so a network store (Redis) runs
exactly the same code as the in-process store.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Any, Self

__all__ = ["EvictionPolicy", "FIFOPolicy", "LRUPolicy"]


class EvictionPolicy:
    """Base: tracks resident keys in admission order.

    Subclasses override :meth:`on_hit` and/or :meth:`victim`, and extend :meth:`state` /
    :meth:`load` when they keep more than the order. Callers guarantee that ``on_hit``
    and ``forget`` are only called for resident keys and ``victim`` only when at least
    one key is resident.
    """

    def __init__(self) -> None:
        self._order: OrderedDict[str, None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, key: object) -> bool:
        return key in self._order

    def __iter__(self) -> Iterator[str]:
        return iter(self._order)

    def on_admit(self, key: str) -> None:
        """Record a newly admitted key (re-admitting a resident key counts as a hit)."""
        if key in self._order:
            self.on_hit(key)
        else:
            self._order[key] = None

    def on_hit(self, key: str) -> None:
        """Record a use of a resident key."""

    def forget(self, key: str) -> None:
        """Drop a key (evicted or invalidated)."""
        self._order.pop(key, None)

    def victim(self, incoming: str | None = None) -> str:
        """The key to evict next.

        Args:
            incoming: The key whose admission needs the room, when known (policies
                may use it, e.g. to evict from the same document).
        """
        raise NotImplementedError

    def state(self) -> dict[str, Any]:
        """JSON-ready state; ``type(self).from_state(p.state())`` behaves like ``p``."""
        return {"order": list(self._order)}

    @classmethod
    def from_state(cls, state: dict[str, Any], **options: Any) -> Self:
        """Rebuild a policy from :meth:`state` (``options`` as for the constructor)."""
        policy = cls(**options)
        policy.load(state)
        return policy

    def load(self, state: dict[str, Any]) -> None:
        """Replace this policy's state with one from :meth:`state`."""
        self._order = OrderedDict.fromkeys(state.get("order", ()))


class FIFOPolicy(EvictionPolicy):
    """Evict the key admitted first."""

    def victim(self, incoming: str | None = None) -> str:
        """The oldest admitted key (``incoming`` is not used)."""
        return next(iter(self._order))


class LRUPolicy(FIFOPolicy):
    """Evict the key used least recently."""

    def on_hit(self, key: str) -> None:
        """Move ``key`` to the most recent end."""
        self._order.move_to_end(key)
