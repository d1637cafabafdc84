"""LFU with ageing: evict the least frequently used key, with old popularity decaying.

Plain LFU keeps a key that was popular long ago forever. Here every ``decay_every``
events (admissions and hits) all counts are halved, as TinyLFU's reset does, so a
key must keep being used to stay. Ties go to the least recently used key.
"""

from __future__ import annotations

from typing import Any

from contextual_avatar.cache._policy import LRUPolicy

__all__ = ["DEFAULT_DECAY_EVERY", "LFUPolicy"]

DEFAULT_DECAY_EVERY = 16


class LFUPolicy(LRUPolicy):
    """Least frequently used, ages counts by halving them every ``decay_every`` events."""

    def __init__(self, *, decay_every: int = DEFAULT_DECAY_EVERY) -> None:
        """Create an empty policy.

        Args:
            decay_every: Events (admissions plus hits) between halvings of every count.
        """
        super().__init__()
        if decay_every < 1:
            raise ValueError(f"decay_every must be >= 1, got {decay_every}")
        self.decay_every = decay_every
        self._counts: dict[str, float] = {}
        self._events = 0

    def _tick(self) -> None:
        self._events += 1
        if self._events % self.decay_every == 0:
            for key in self._counts:
                self._counts[key] /= 2

    def on_admit(self, key: str) -> None:
        """Admit with a count of one (a resident key counts a hit)."""
        if key in self._order:
            self.on_hit(key)
            return
        self._order[key] = None
        self._counts[key] = 1.0
        self._tick()

    def on_hit(self, key: str) -> None:
        """Count a use and refresh recency."""
        super().on_hit(key)
        self._counts[key] = self._counts.get(key, 0.0) + 1.0
        self._tick()

    def forget(self, key: str) -> None:
        """Drop the key and its count."""
        super().forget(key)
        self._counts.pop(key, None)

    def victim(self, incoming: str | None = None) -> str:
        """Lowest count; among equals the least recently used (``incoming`` unused)."""
        rank = {key: i for i, key in enumerate(self._order)}
        return min(self._order, key=lambda k: (self._counts[k], rank[k]))

    def count(self, key: str) -> float:
        """The aged use count of a resident key."""
        return self._counts[key]

    def state(self) -> dict[str, Any]:
        """Order, counts and the event clock."""
        return {**super().state(), "counts": self._counts, "events": self._events}

    def load(self, state: dict[str, Any]) -> None:
        """Replace this policy's state with one from :meth:`state`."""
        super().load(state)
        self._counts = {str(k): float(v) for k, v in state.get("counts", {}).items()}
        self._events = int(state.get("events", 0))
