"""The session chunk cache: answer from a handful of chunks before searching the index.

A lookup scores the session's cached chunks against the (conversation-aware) query
vectors and the question's terms. The turn is a *hit*, and the index is not searched,
when the best cached chunk's cosine reaches the hit threshold **and** at most
``max_missing`` of the question's terms are absent from every cached chunk: a question
that names something the cache has never seen ("and what about the Vikings?") is a
topic change, however similar its wording. On a miss the caller searches the index and
:meth:`ChunkCache.admit` reorganises the cache around the new results.

Cached chunks are ranked like the hybrid retriever ranks the index, with the same three
kinds of evidence: cosine, lexical match (share of the question's terms a chunk holds)
and the conversation's document focus, so a hit and a miss order context alike.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

from contextual_avatar._text import chunk_id, terms
from contextual_avatar.cache._store import CacheEntry, ChunkStore
from contextual_avatar.types import CacheDecision, Chunk, ScoredChunk

__all__ = ["Analyzer", "CacheStats", "ChunkCache", "ChunkSource"]


class ChunkSource(Protocol):
    """Indexed chunks by id (the engine's corpus): where a hit's neighbours come from."""

    def lookup(self, chunk_ids: Sequence[str]) -> tuple[Sequence[Chunk], npt.NDArray[np.float32]]:
        """The chunks among ``chunk_ids`` that exist, in order, and their vectors (rows)."""
        ...


#: Turns text into index terms; the engine passes the retriever's analyser so the
#: question's terms and the chunks' terms match (stemmed, stop words dropped).
Analyzer = Callable[[str], Sequence[str]]

DEFAULT_MAX_MISSING = 1
DEFAULT_RANK_LEXICAL = 0.3
DEFAULT_RANK_FOCUS = 0.4
_TERM_MEMO = 4096


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
        max_missing: int | None = None,
        analyzer: Analyzer | None = None,
        lexical_weight: float = DEFAULT_RANK_LEXICAL,
        focus_weight: float = DEFAULT_RANK_FOCUS,
        prefetch: bool = False,
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
            max_missing: Question terms that may be absent from every cached chunk on a
                hit (``None``: no lexical condition, cosine alone decides).
            analyzer: Text to terms, for the question (``lookup(terms=...)``) and the
                cached chunks alike (default: the retriever's ``terms``).
            lexical_weight: Weight of a chunk's share of the question's terms in the
                ranking of cached chunks.
            focus_weight: Weight of the conversation's focus on the chunk's document.
            prefetch: On a hit, admit the chunk after the best one when it is not cached
                (fetched by id from ``source``, not searched), since a conversation
                walks its document forward.
        """
        self.store = store
        self.threshold = threshold
        self.enabled = enabled
        self.admission = admission
        self.neighbours = neighbours
        self._source = source
        self.max_missing = max_missing
        self._analyzer: Analyzer = analyzer or terms
        self.lexical_weight = lexical_weight
        self.focus_weight = focus_weight
        self.prefetch = prefetch
        self._terms: dict[str, frozenset[str]] = {}
        self._hits = 0
        self._misses = 0

    async def lookup(
        self,
        session: str,
        query: npt.NDArray[np.float32],
        *,
        terms: Sequence[str] = (),
        focus: Mapping[str, float] | None = None,
        source: ChunkSource | None = None,
        validate: bool = False,
    ) -> tuple[list[ScoredChunk], CacheDecision]:
        """Score the session's chunks against ``query`` and decide hit or miss.

        Args:
            session: The session.
            query: One vector or several (rows); a chunk's cosine is its best similarity
                to any of them.
            terms: The question's index terms (from the same analyser as the cache's);
                empty disables the lexical condition and ranking term.
            focus: Document id to the conversation's focus weight (0-1), for ranking.
            source: The index version this turn uses (default: the cache's source), for
                neighbours and validation.
            validate: Serve only cached chunks ``source`` still holds, as it holds them
                now: a removed document's chunks are never served from a cache, and
                citations name the current file. One lookup by id per cached chunk.

        Returns:
            The cached chunks, best first (``ScoredChunk.score`` is the cosine), and the
            decision. On a hit the best chunk is marked as used.
        """
        if not self.enabled:
            self._misses += 1
            return [], CacheDecision(False, 0.0, self.threshold, "cache disabled")
        source = source or self._source
        entries = await self.store.entries(session)
        if validate and entries and source is not None:
            entries = _still_indexed(entries, source)
            if not entries:
                self._misses += 1
                reason = "the cached chunks are no longer indexed"
                return [], CacheDecision(False, 0.0, self.threshold, reason)
        if not entries:
            self._misses += 1
            return [], CacheDecision(False, 0.0, self.threshold, "session cache is empty")
        matrix = np.stack([e.vector for e in entries])
        queries = np.asarray(query, dtype=np.float32).reshape(-1, matrix.shape[1])
        cosine = (matrix @ queries.T).max(axis=1)
        wanted = set(terms)
        held = [self._chunk_terms(e) for e in entries]
        if wanted:
            share = np.array([len(wanted & h) / len(wanted) for h in held], dtype=np.float32)
            missing = len(wanted.difference(*held))
        else:
            share = np.zeros(len(entries), dtype=np.float32)
            missing = 0
        prior = np.array(
            [(focus or {}).get(e.chunk.doc_id, 0.0) for e in entries], dtype=np.float32
        )
        fused = cosine + self.lexical_weight * share + self.focus_weight * prior
        order = np.argsort(-fused, kind="stable")
        ranked = [ScoredChunk(entries[i].chunk, float(cosine[i])) for i in order]
        best = float(cosine.max())
        close = best >= self.threshold
        known = self.max_missing is None or missing <= self.max_missing
        if close and known:
            self._hits += 1
            await self.store.touch(session, [ranked[0].chunk.id])
            if self.prefetch:
                cached = {e.chunk.id for e in entries}
                await self._prefetch_next(session, ranked[0].chunk, cached, source)
            reason = f"best cached chunk scores {best:.3f} >= {self.threshold:.3f}"
            if self.max_missing is not None and wanted:
                reason += f", {missing} question term(s) not cached <= {self.max_missing}"
            return ranked, CacheDecision(True, best, self.threshold, reason)
        self._misses += 1
        if not close:
            reason = f"best cached chunk scores {best:.3f} < {self.threshold:.3f}"
        else:
            reason = f"{missing} question term(s) not in any cached chunk > {self.max_missing}"
        return ranked, CacheDecision(False, best, self.threshold, reason)

    async def _prefetch_next(
        self, session: str, best: Chunk, cached: set[str], source: ChunkSource | None
    ) -> None:
        """Admit the chunk after ``best`` (the conversation's next stop) if it exists."""
        if source is None:
            return
        after = chunk_id(best.doc_id, best.ordinal + 1)
        if after in cached:
            return
        found = _fetch([after], source)
        if found:
            await self.store.admit(session, found)

    def _chunk_terms(self, entry: CacheEntry) -> frozenset[str]:
        """A cached chunk's terms, memoised by id (chunks are immutable once indexed)."""
        found = self._terms.get(entry.chunk.id)
        if found is None:
            if len(self._terms) >= _TERM_MEMO:
                self._terms.clear()
            found = self._terms[entry.chunk.id] = frozenset(self._analyzer(entry.chunk.text))
        return found

    async def admit(
        self,
        session: str,
        chunks: Sequence[ScoredChunk],
        vectors: npt.NDArray[np.float32],
        *,
        source: ChunkSource | None = None,
    ) -> list[str]:
        """Admit search results, least relevant first so the best ends up most recent.

        Args:
            session: The session.
            chunks: Search results, best first.
            vectors: Their vectors, one row per chunk.
            source: The index version the results came from (default: the cache's
                source), for ``"document"`` admission's neighbours.

        Returns:
            Ids of evicted chunks.
        """
        if not self.enabled or not chunks:
            return []
        entries = [CacheEntry(sc.chunk, vectors[i]) for i, sc in enumerate(chunks)]
        if self.admission == "document":
            entries = self._document_entries(entries, source or self._source)
        return await self.store.admit(session, entries[::-1])

    def _document_entries(
        self, results: list[CacheEntry], source: ChunkSource | None
    ) -> list[CacheEntry]:
        """The best result, its document's other results, then its neighbours."""
        best = results[0].chunk
        chosen = {e.chunk.id: e for e in results if e.chunk.doc_id == best.doc_id}
        if source is not None and self.neighbours > 0:
            ids = []
            for d in range(1, self.neighbours + 1):
                ids.append(chunk_id(best.doc_id, best.ordinal + d))
                if best.ordinal >= d:  # no chunk before the first
                    ids.append(chunk_id(best.doc_id, best.ordinal - d))
            wanted = [i for i in ids if i not in chosen]
            for entry in _fetch(wanted, source):
                chosen.setdefault(entry.chunk.id, entry)
        return list(chosen.values())[: self.store.capacity]

    def stats(self) -> CacheStats:
        """Counters since this cache was created."""
        return CacheStats(self._hits, self._misses)


def _fetch(chunk_ids: Sequence[str], source: ChunkSource) -> list[CacheEntry]:
    """Entries for the ids ``source`` holds, in order."""
    chunks, vectors = source.lookup(chunk_ids)
    return [CacheEntry(c, vectors[i]) for i, c in enumerate(chunks)]


def _still_indexed(entries: Sequence[CacheEntry], source: ChunkSource) -> list[CacheEntry]:
    """The entries ``source`` still holds, each as ``source`` holds it now."""
    fresh = {e.chunk.id: e for e in _fetch([e.chunk.id for e in entries], source)}
    return [fresh[e.chunk.id] for e in entries if e.chunk.id in fresh]
