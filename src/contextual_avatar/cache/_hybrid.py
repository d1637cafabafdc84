"""The hybrid policy: document-aware recency that adapts to looping conversations.

Why not a better formula over keys alone: on CoQA replays the needed chunk follows the
*conversation*, and a conversation lives in one document. In a meeting that interleaves
three conversations (A1-3, B1-3, C1-3, A4-6, ...) the document that comes back next is
the one left longest ago, exactly the one LRU evicts (the classic loop that defeats
LRU). ARC and aged LFU do not fix it on this data (LFU is worst); see ``docs/cache.md``.

The rule, in two tiers:

1. Each group (document, by default the chunk id before its last ``:``) keeps its most
   recently used key, its *frontier*, where the conversation will most likely resume.
   Non-frontier keys go first, least recently used first.
2. When only frontiers are left, one other group must give up its frontier. Either the
   least recently used group (recency, right for topic drift) or the most recently
   left one (right for round-robin loops). A ghost list remembers which rule evicted
   each key; when a ghost is requested again that rule was wrong, and the choice
   moves away from it (ARC-style adaptation, with LeCaR's regret idea).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from contextual_avatar.cache._policy import EvictionPolicy

__all__ = ["DEFAULT_GHOSTS", "HybridPolicy", "document_of"]

DEFAULT_GHOSTS = 16
_STEP = 0.25


def document_of(key: str) -> str:
    """The group of a chunk id ``"{doc_id}:{ordinal}"``: its document."""
    return key.rpartition(":")[0] or key


class HybridPolicy(EvictionPolicy):
    """Frontier-protecting, loop-adaptive recency over groups of keys."""

    def __init__(
        self,
        *,
        group: Callable[[str], str] = document_of,
        ghosts: int = DEFAULT_GHOSTS,
    ) -> None:
        """Create an empty policy.

        Args:
            group: Maps a key to its group (default: the chunk's document).
            ghosts: Evicted keys remembered to learn which rule was wrong.
        """
        super().__init__()
        self._group = group
        self._ghost_cap = ghosts
        self._ghosts: OrderedDict[str, str] = OrderedDict()
        # Weight of the loop rule (evict the most recently left group); 0.5 = undecided,
        # and ties go to the loop rule, which the meeting replays favour.
        self.loop_weight = 0.5

    def _use(self, key: str) -> None:
        self._order.move_to_end(key)

    def on_admit(self, key: str) -> None:
        """Admit (or hit) ``key``; a ghost coming back corrects the rule that evicted it."""
        if key in self._order:
            self.on_hit(key)
            return
        rule = self._ghosts.pop(key, None)
        if rule == "loop":
            self.loop_weight = max(0.0, self.loop_weight - _STEP)
        elif rule == "recency":
            self.loop_weight = min(1.0, self.loop_weight + _STEP)
        self._order[key] = None
        self._use(key)

    def on_hit(self, key: str) -> None:
        """Refresh recency."""
        self._use(key)

    def _frontiers(self) -> dict[str, str]:
        front: dict[str, str] = {}
        for key in self._order:  # ordered by recency, so the last one per group wins
            front[self._group(key)] = key
        return front

    def victim(self) -> str:
        """See the module docstring for the two tiers.

        Call it only to evict: it records the victim as a ghost.
        """
        front = self._frontiers()
        protected = set(front.values())
        for key in self._order:  # least recent first
            if key not in protected:
                return key
        current = self._group(next(reversed(self._order)))
        others = [k for k in self._order if self._group(k) != current] or list(self._order)
        if self.loop_weight >= 0.5:
            key, rule = others[-1], "loop"
        else:
            key, rule = others[0], "recency"
        self._ghosts[key] = rule
        self._ghosts.move_to_end(key)
        while len(self._ghosts) > self._ghost_cap:
            self._ghosts.popitem(last=False)
        return key

    def state(self) -> dict[str, Any]:
        """Order, ghosts and the learned weight."""
        return {
            **super().state(),
            "ghosts": list(self._ghosts.items()),
            "loop_weight": self.loop_weight,
        }

    def load(self, state: dict[str, Any]) -> None:
        """Replace this policy's state with one from :meth:`state`."""
        super().load(state)
        self._ghosts = OrderedDict((str(k), str(v)) for k, v in state.get("ghosts", ()))
        self.loop_weight = float(state.get("loop_weight", 0.5))
