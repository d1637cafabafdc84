"""The retriever over Milvus: dense and BM25 search fused as the hybrid retriever fuses them.

Both searches run in Milvus (its full-text BM25 included), so an answering process
needs no local index. Scores are fused as :class:`~contextual_avatar.retrieval.HybridRetriever`
does in ``"score"`` mode (cosine plus the max-normalised BM25 score, weighted), with the
conversation's document prior added; returned scores stay cosine similarities. As
there, every dense candidate gets its BM25 score: those outside Milvus's keyword top-N
are scored by a keyword search filtered to their ids. The neighbour prior and the
follow-up expansion of the lexical query are not applied here.

With a ``mirror`` (the engine's local corpus, when ``retrieval.backend = "milvus"``),
each search first brings the Milvus collection in line with the corpus's published
version, writing only what changed: the process that ingests fills Milvus, and every
process on the same data folder keeps it current. Processes on other machines use a
retriever without a mirror over the same Milvus.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from contextual_avatar.retrieval._collections import DEFAULT_COLLECTION
from contextual_avatar.retrieval._faiss import FaissIndex
from contextual_avatar.retrieval._hybrid import (
    DEFAULT_CANDIDATES,
    DEFAULT_DENSE_WEIGHT,
    DEFAULT_LEXICAL_WEIGHT,
)
from contextual_avatar.retrieval._milvus import MilvusIndex
from contextual_avatar.retrieval._state import ConversationState
from contextual_avatar.types import Chunk, ScoredChunk

__all__ = ["MilvusRetriever", "Mirrored"]

Vectors = npt.NDArray[np.float32]


class Mirrored(Protocol):
    """What a mirror offers: its current vector index (a :class:`Corpus` does)."""

    @property
    def index(self) -> FaissIndex:
        """The current version's vector index."""
        ...


class MilvusRetriever:
    """Dense + BM25 search of one collection in Milvus (a :class:`Retriever`)."""

    def __init__(
        self,
        index: MilvusIndex,
        *,
        collection: str = DEFAULT_COLLECTION,
        dense_weight: float = DEFAULT_DENSE_WEIGHT,
        lexical_weight: float = DEFAULT_LEXICAL_WEIGHT,
        candidates: int = DEFAULT_CANDIDATES,
        doc_prior: float = 0.0,
        mirror: Mirrored | None = None,
    ) -> None:
        """Search ``collection`` of ``index``.

        Args:
            index: The Milvus store.
            collection: The knowledge base searched.
            dense_weight: Weight of the cosine similarity.
            lexical_weight: Weight of the max-normalised BM25 score (0: dense only).
            candidates: Candidates taken from each of the two searches.
            doc_prior: Added times the conversation's focus on a chunk's document.
            mirror: A local corpus whose published chunks Milvus is kept in line with.
        """
        self.index = index
        self.collection = index.name(collection) and collection
        self.dense_weight = dense_weight
        self.lexical_weight = lexical_weight
        self.candidates = candidates
        self.doc_prior = doc_prior
        self._mirror = mirror
        self._synced: tuple[int, int] | None = None
        self._mirrored: set[str] | None = None
        self._sync_lock = threading.Lock()

    def forget(self) -> None:
        """Forget what was mirrored, as when the Milvus collection was dropped.

        The next sync reads what Milvus holds and writes what is missing.
        """
        with self._sync_lock:
            self._synced = None
            self._mirrored = None

    def sync(self) -> int:
        """Bring Milvus in line with the mirror's current version; rows written + deleted."""
        if self._mirror is None:
            return 0
        with self._sync_lock:
            local = self._mirror.index
            chunks = local.chunks
            stamp = (id(chunks), len(chunks))
            if stamp == self._synced:
                return 0
            if self._mirrored is None:
                self._mirrored = set(self.index.ids(self.collection))
            current = {c.id: c for c in chunks}
            new = [c for cid, c in current.items() if cid not in self._mirrored]
            gone = [cid for cid in self._mirrored if cid not in current]
            if new:
                vectors = local.vectors_for([c.id for c in new])
                self.index.add(new, vectors, collection=self.collection)
            if gone:
                self.index.delete_ids(gone, collection=self.collection)
            self._mirrored = set(current)
            self._synced = stamp
            return len(new) + len(gone)

    def search(
        self,
        texts: Sequence[str],
        vectors: Vectors,
        k: int,
        *,
        state: ConversationState | None = None,
    ) -> list[ScoredChunk]:
        """Return up to ``k`` chunks, best first (see the module docstring)."""
        if k <= 0 or not texts:
            return []
        self.sync()
        queries = np.asarray(vectors, np.float32).reshape(-1, self.index.dim)
        dense: dict[str, ScoredChunk] = {}
        if self.dense_weight > 0 or self.lexical_weight == 0:  # BM25 only: its hits alone
            near = self.index.search_dense(queries, self.candidates, collection=self.collection)
            dense = {sc.chunk.id: sc for sc in near}
        lexical: dict[str, tuple[Chunk, float]] = {}
        bm25: dict[str, float] = {}
        if self.lexical_weight > 0:
            hits = self.index.search_text(texts[0], self.candidates, collection=self.collection)
            lexical = {chunk.id: (chunk, score) for chunk, score in hits}
            bm25 = {cid: score for cid, (_, score) in lexical.items()}
            # As the local hybrid does, every dense candidate gets its BM25 score, not
            # only those in Milvus's keyword top-N. A short keyword list already holds
            # every chunk with a matching term, so the others score 0.
            unscored = [cid for cid in dense if cid not in bm25]
            if unscored and len(hits) >= self.candidates:
                bm25.update(self.index.score_text(texts[0], unscored, collection=self.collection))
        cosine = {cid: sc.score for cid, sc in dense.items()}
        missing = [cid for cid in lexical if cid not in cosine]
        if missing:  # BM25 found it, the dense top-N did not: score it exactly
            found, stored = self.index.lookup(missing, collection=self.collection)
            for chunk, row in zip(found, stored, strict=True):
                cosine[chunk.id] = float((queries @ row).max())
        top = max(bm25.values(), default=0.0)
        focus = {} if state is None or self.doc_prior == 0 else state.doc_focus
        chunks = {cid: sc.chunk for cid, sc in dense.items()}
        chunks.update((cid, c) for cid, (c, _) in lexical.items())
        fused = {}
        for cid, chunk in chunks.items():
            if cid not in cosine:
                continue
            lex = bm25.get(cid, 0.0) / top if top > 0 else 0.0
            fused[cid] = (
                self.dense_weight * cosine[cid]
                + self.lexical_weight * lex
                + self.doc_prior * focus.get(chunk.doc_id, 0.0)
            )
        order = sorted(fused, key=lambda cid: (-fused[cid], cid))[:k]
        return [ScoredChunk(chunks[cid], cosine[cid]) for cid in order]

    def lookup(self, chunk_ids: Sequence[str]) -> tuple[list[Chunk], Vectors]:
        """Stored chunks and vectors by id (from Milvus), skipping unknown ids."""
        return self.index.lookup(chunk_ids, collection=self.collection)
