"""The session chunk cache: answer from a handful of chunks before searching the index.

A lookup scores the session's cached chunks against the (conversation-aware) query
vector; when the best reaches the hit threshold the turn is a *hit* and the index is not
searched. On a miss the caller searches the index and :meth:`ChunkCache.admit` reorganises
the cache around the new results.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from contextual_avatar.cache._store import CacheEntry, ChunkStore
from contextual_avatar.types import CacheDecision, ScoredChunk

__all__ = ["CacheStats", "ChunkCache", "ChunkSource"]

#: Looks chunks up by id in the index: ``source(ids)`` returns entries for the ids that
#: exist (others are skipped). Used to admit a hit chunk's document neighbours.
ChunkSource = Callable[[Sequence[str]], list[CacheEntry]]


@dataclass(frozen=True, slots=True)
class CacheStats:
    """Lookups served from the cache (hits) and not (misses), since start."""

    hits: int
    misses: int

    @property
    def hit_rate(self) -> float:
        """Hits over lookups (0 when there were none)."""
        total = self.hits + self.misses
        return self.hits / total if total else 0.0


class ChunkCache:
    """Scores a session's cached chunks and decides hit or miss.

    Policy and storage live in the store; this class holds the hit rule and the
    admission rule (what a miss puts in the cache).
    """

    def __init__(
        self,
        store: ChunkStore,
        *,
        threshold: float,
        enabled: bool = True,
        admission: Literal["results", "document"] = "results",
        neighbours: int = 1,
        source: ChunkSource | None = None,
    ) -> None:
        """Wrap a store.

        Args:
            store: Where entries live (memory or Redis).
            threshold: Cosine similarity the best cached chunk must reach for a hit.
            enabled: ``False`` makes every lookup a miss and every admit a no-op.
            admission: ``"results"`` admits the search results; ``"document"`` admits
                the best result, the other results from its document, then its
                neighbours (``ordinal +- 1..neighbours``, next first), up to capacity.
            neighbours: Neighbours on each side for ``"document"`` admission.
            source: Fetches neighbour chunks by id (without it none are added).
        """
        self.store = store
        self.threshold = threshold
        self.enabled = enabled
        self.admission = admission
        self.neighbours = neighbours
        self._source = source
        self._hits = 0
        self._misses = 0

    async def lookup(
        self, session: str, query: npt.NDArray[np.float32]
    ) -> tuple[list[ScoredChunk], CacheDecision]:
        """Score the session's chunks against ``query``.

        ``query`` is one vector or several (rows); a chunk scores its best similarity to
        any of them.

        Returns:
            The cached chunks, best first, and the decision. On a hit the chunks are
            marked as used.
        """
        if not self.enabled:
            self._misses += 1
            return [], CacheDecision(False, 0.0, self.threshold, "cache disabled")
        entries = await self.store.entries(session)
        if not entries:
            self._misses += 1
            return [], CacheDecision(False, 0.0, self.threshold, "session cache is empty")
        matrix = np.stack([e.vector for e in entries])
        queries = np.asarray(query, dtype=np.float32).reshape(-1, matrix.shape[1])
        scores = (matrix @ queries.T).max(axis=1)
        order = np.argsort(-scores, kind="stable")
        ranked = [ScoredChunk(entries[i].chunk, float(scores[i])) for i in order]
        best = ranked[0].score
        if best >= self.threshold:
            self._hits += 1
            await self.store.touch(session, [ranked[0].chunk.id])
            reason = f"best cached chunk scores {best:.3f} >= {self.threshold:.3f}"
            return ranked, CacheDecision(True, best, self.threshold, reason)
        self._misses += 1
        reason = f"best cached chunk scores {best:.3f} < {self.threshold:.3f}"
        return ranked, CacheDecision(False, best, self.threshold, reason)

    async def admit(
        self, session: str, chunks: Sequence[ScoredChunk], vectors: npt.NDArray[np.float32]
    ) -> list[str]:
        """Admit search results, least relevant first so the best ends up most recent.

        Args:
            session: The session.
            chunks: Search results, best first.
            vectors: Their vectors, one row per chunk.

        Returns:
            Ids of evicted chunks.
        """
        if not self.enabled or not chunks:
            return []
        entries = [CacheEntry(sc.chunk, vectors[i]) for i, sc in enumerate(chunks)]
        if self.admission == "document":
            entries = self._document_entries(entries)
        return await self.store.admit(session, entries[::-1])

    def _document_entries(self, results: list[CacheEntry]) -> list[CacheEntry]:
        """The best result, its document's other results, then its neighbours."""
        best = results[0].chunk
        chosen = {e.chunk.id: e for e in results if e.chunk.doc_id == best.doc_id}
        if self._source is not None and self.neighbours > 0:
            ids = []
            for d in range(1, self.neighbours + 1):
                ids += [f"{best.doc_id}:{best.ordinal + d}", f"{best.doc_id}:{best.ordinal - d}"]
            wanted = [i for i in ids if i not in chosen]
            for entry in self._source(wanted):
                chosen.setdefault(entry.chunk.id, entry)
        return list(chosen.values())[: self.store.capacity]

    def stats(self) -> CacheStats:
        """Counters since this cache was created."""
        return CacheStats(self._hits, self._misses)
