"""The hybrid policy: document-aware, thread-aware eviction for conversations.

Why not a better formula over keys alone: on CoQA replays the needed chunk follows the
*conversation*, and a conversation lives in one document. In a meeting that interleaves
three conversations (A1-3, B1-3, C1-3, A4-6, ...) the document that comes back next is
the one left longest ago, exactly the one LRU evicts (the classic loop that defeats
LRU), while in one conversation that drifts from document to document the old ones
never come back. ARC and aged LFU do not fix it on this data; see ``docs/cache.md``.

The victim is chosen knowing the key about to be admitted (its document ``d``):

1. **Stale threads first.** The policy learns how long a conversation thread stays
   away before it returns: every time a document is used again after other documents
   were used in between, the gap (in uses) is recorded. A document idle for longer
   than the largest recent return gap is *stale*; its keys go first, least recently
   used first. With no return seen yet (one conversation drifting through documents)
   every other document is stale, so the policy behaves like LRU.
2. **Replace within the thread.** Otherwise every resident document is a live thread
   that will be back. If ``d`` holds keys used at least twice since admission, it
   gives up its *most* used one (ties: least recent). A conversation asks a few
   questions about a chunk and then moves on, so the chunk it has used most is the one
   it has finished with; the other threads keep their places. Keys used once are not
   taken here: a miss admits a window of up to five chunks of ``d`` at once (document
   admission), and an earlier rule that also took once-used keys made that window
   evict itself chunk by chunk, lowering meeting recall in the served path.
3. **Frontiers last.** Each document's most recently used key (its *frontier*, where
   its conversation resumes) is kept while other keys remain: those go least recent
   first. When only frontiers are left, the least used goes (ties: least recent).

The per-eviction study behind it (what Belady's optimum evicts that LRU and the first
hybrid kept) is in ``docs/cache.md``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from contextual_avatar._text import document_of
from contextual_avatar.cache._policy import EvictionPolicy

__all__ = ["DEFAULT_RETURN_GAPS", "HybridPolicy", "document_of"]

#: Recent return gaps remembered to decide when a thread is stale.
DEFAULT_RETURN_GAPS = 8
#: Groups whose last use is remembered (resident ones always are).
_GROUPS_KEPT = 64


class HybridPolicy(EvictionPolicy):
    """Stale threads first, then the incoming thread's most used key, then non-frontiers."""

    def __init__(
        self,
        *,
        group: Callable[[str], str] = document_of,
        return_gaps: int = DEFAULT_RETURN_GAPS,
    ) -> None:
        """Create an empty policy.

        Args:
            group: Maps a key to its group (default: the chunk's document).
            return_gaps: Recent return gaps kept to learn how long a live thread stays
                away (the largest of them is the staleness limit).
        """
        super().__init__()
        if return_gaps < 1:
            raise ValueError(f"return_gaps must be >= 1, got {return_gaps}")
        self._group = group
        self._counts: dict[str, int] = {}
        self._last: dict[str, int] = {}  # group -> clock of its last use
        self._gaps: deque[int] = deque(maxlen=return_gaps)
        self._clock = 0

    def _use(self, key: str) -> None:
        self._clock += 1
        group = self._group(key)
        last = self._last.get(group)
        if last is not None and self._clock - last > 1:
            self._gaps.append(self._clock - last)
        self._last.pop(group, None)
        self._last[group] = self._clock  # dicts keep insertion order: oldest first
        if len(self._last) > _GROUPS_KEPT:
            resident = {self._group(k) for k in self._order} | {group}
            for old in [g for g in self._last if g not in resident][
                : len(self._last) - _GROUPS_KEPT
            ]:
                del self._last[old]
        self._counts[key] = self._counts.get(key, 0) + 1
        self._order.move_to_end(key)

    def on_admit(self, key: str) -> None:
        """Admit (or hit) ``key``."""
        if key not in self._order:
            self._order[key] = None
            self._counts[key] = 0
        self._use(key)

    def on_hit(self, key: str) -> None:
        """Count a use and refresh recency."""
        self._use(key)

    def forget(self, key: str) -> None:
        """Drop the key and its count (its group's last use is kept, to see it return)."""
        super().forget(key)
        self._counts.pop(key, None)

    def stale_after(self) -> int:
        """Uses after which an idle group counts as stale (0 before any return)."""
        return max(self._gaps, default=0)

    def victim(self, incoming: str | None = None) -> str:
        """See the module docstring for the three steps.

        Args:
            incoming: The key about to be admitted (``None``: unknown, step 2 is
                skipped).
        """
        target = None if incoming is None else self._group(incoming)
        limit = self.stale_after()
        groups = [self._group(k) for k in self._order]  # least recent key first
        for key, group in zip(self._order, groups, strict=True):
            if group != target and self._clock - self._last[group] > limit:
                return key
        rank = {key: i for i, key in enumerate(self._order)}
        if target is not None:
            mine = [
                k
                for k, g in zip(self._order, groups, strict=True)
                if g == target and self._counts[k] >= 2
            ]
            if mine:
                return min(mine, key=lambda k: (-self._counts[k], rank[k]))
        frontier = dict(zip(groups, self._order, strict=True)).values()  # last key wins
        protected = set(frontier)
        for key in self._order:  # least recent first
            if key not in protected:
                return key
        return min(self._order, key=lambda k: (self._counts[k], rank[k]))

    def state(self) -> dict[str, Any]:
        """Order, counts, the groups' last uses, the return gaps and the clock."""
        return {
            **super().state(),
            "counts": self._counts,
            "last": self._last,
            "gaps": list(self._gaps),
            "clock": self._clock,
        }

    def load(self, state: dict[str, Any]) -> None:
        """Replace this policy's state with one from :meth:`state`."""
        super().load(state)
        self._counts = {str(k): int(v) for k, v in state.get("counts", {}).items()}
        self._last = {str(k): int(v) for k, v in state.get("last", {}).items()}
        self._gaps = deque((int(g) for g in state.get("gaps", ())), maxlen=self._gaps.maxlen)
        self._clock = int(state.get("clock", 0))
