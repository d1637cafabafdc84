"""Hybrid, conversation-aware retrieval: dense and BM25 scores fused, plus a focus prior.

For each turn the retriever gathers candidates (the dense top-N, the lexical top-N, and
the chunks around what the conversation was just looking at), scores each one

``dense_weight * cosine + lexical_weight * bm25 / max(bm25) + doc_prior * focus(doc)
+ neighbour_prior * near(last chunks)``

(or reciprocal-rank fusion of the first two terms), and returns the best. The first
two terms answer the question; the last two are the conversation state: they favour
the documents and neighbouring chunks the session is on, and are small enough that a
question that clearly names another topic still wins.

A follow-up's lexical query is expanded with the previous question's terms and the
names used in the last turns (weighted by ``followup_weight``), so "who was he thankful
to?" also matches "Duane".

Returned :class:`~contextual_avatar.types.ScoredChunk` scores stay cosine similarities
(the router and cache compare them with cosine thresholds); the *order* is the fused one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from contextual_avatar._text import chunk_range, terms
from contextual_avatar.retrieval._bm25 import BM25Index
from contextual_avatar.retrieval._faiss import FaissIndex
from contextual_avatar.retrieval._state import ConversationState
from contextual_avatar.types import ScoredChunk

__all__ = ["Fusion", "HybridRetriever", "PriorWeights"]

Fusion = Literal["score", "rrf"]

DEFAULT_DENSE_WEIGHT = 1.0
DEFAULT_LEXICAL_WEIGHT = 0.3
DEFAULT_CANDIDATES = 64
DEFAULT_RRF_K = 60
# Around each focus chunk, this many chunks either side are searched.
FOCUS_WINDOW = 3


@dataclass(frozen=True, slots=True)
class PriorWeights:
    """How much the conversation state counts (all 0: stateless retrieval).

    Parameters:
        doc: Added times the document's focus weight (0-1).
        neighbour: Added to chunks next to the previous turn's two best.
        followup: Weight of the previous question's terms and recent names in the
            lexical query.
    """

    doc: float = 0.4
    neighbour: float = 0.05
    followup: float = 0.5


STATELESS = PriorWeights(doc=0.0, neighbour=0.0, followup=0.0)


class HybridRetriever:
    """Dense + BM25 search over one corpus, with an optional conversation prior.

    With ``lexical_weight=0`` it is dense-only, with ``dense_weight=0`` BM25-only; either
    index can be any object with the same methods (the ``FaissIndex`` / ``BM25Index`` seam).
    """

    def __init__(
        self,
        index: FaissIndex,
        lexical: BM25Index | None,
        *,
        dense_weight: float = DEFAULT_DENSE_WEIGHT,
        lexical_weight: float = DEFAULT_LEXICAL_WEIGHT,
        fusion: Fusion = "score",
        prior: PriorWeights = PriorWeights(),
        candidates: int = DEFAULT_CANDIDATES,
        rrf_k: int = DEFAULT_RRF_K,
    ) -> None:
        """Search ``index`` (vectors) and ``lexical`` (BM25, rows aligned with ``index``).

        Args:
            index: The vector index.
            lexical: The BM25 index over the same chunks, or ``None`` for dense only.
            dense_weight: Weight of the cosine similarity.
            lexical_weight: Weight of the max-normalised BM25 score.
            fusion: ``"score"`` (weighted sum) or ``"rrf"`` (reciprocal rank, scaled so
                a first rank counts about 1).
            prior: Conversation-state weights.
            candidates: Candidates taken from each of the dense and lexical searches.
            rrf_k: The reciprocal-rank constant.
        """
        self.index = index
        self.lexical = lexical
        self.dense_weight = dense_weight
        self.lexical_weight = lexical_weight if lexical is not None else 0.0
        self.fusion = fusion
        self.prior = prior
        self.candidates = candidates
        self.rrf_k = rrf_k

    def search(
        self,
        texts: Sequence[str],
        vectors: npt.NDArray[np.float32],
        k: int,
        *,
        state: ConversationState | None = None,
    ) -> list[ScoredChunk]:
        """Return up to ``k`` chunks, best first (see the module docstring).

        Args:
            texts: The query texts; the first is the question as asked.
            vectors: Their embeddings, one row per text.
            k: How many chunks to return.
            state: The session's conversation state (``None``: stateless).
        """
        n = len(self.index)
        if n == 0 or k <= 0 or not texts:
            return []
        state = state or ConversationState()
        lex = self._lexical_scores(texts[0], state)
        rows = self._candidates(vectors, lex, state)
        dense = self.index.similarities(rows, vectors)
        lex_c = lex[rows] if lex is not None else np.zeros(len(rows), np.float32)
        if self.fusion == "rrf":
            fused = self.dense_weight * _rrf(dense, self.rrf_k) + self.lexical_weight * _rrf(
                lex_c, self.rrf_k
            )
        else:
            top = float(lex.max()) if lex is not None and len(lex) else 0.0
            lex_n = lex_c / top if top > 0 else lex_c
            fused = self.dense_weight * dense + self.lexical_weight * lex_n
        fused = fused + self._prior(rows, state)
        order = np.argsort(-fused, kind="stable")[:k]
        chunks = self.index.chunks
        return [ScoredChunk(chunks[rows[i]], float(dense[i])) for i in order.tolist()]

    # -- parts -------------------------------------------------------------------------

    def _lexical_scores(
        self, question: str, state: ConversationState
    ) -> npt.NDArray[np.float32] | None:
        if self.lexical is None or self.lexical_weight == 0 or len(self.lexical) != len(self.index):
            return None
        scores = self.lexical.scores(terms(question))
        if self.prior.followup > 0 and not state.empty:
            extra = terms(state.questions[-1]) + terms(" ".join(state.entities))
            if extra:
                scores = scores + self.prior.followup * self.lexical.scores(extra)
        return scores

    def _candidates(
        self,
        vectors: npt.NDArray[np.float32],
        lex: npt.NDArray[np.float32] | None,
        state: ConversationState,
    ) -> list[int]:
        n = len(self.index)
        found: dict[int, None] = {}
        if self.dense_weight > 0 or lex is None:
            for sc in self.index.search(vectors, self.candidates):
                row = self.index.row(sc.chunk.id)
                if row is not None:
                    found.setdefault(row, None)
        if lex is not None:
            m = min(self.candidates, n)
            for row in np.argpartition(-lex, m - 1)[:m].tolist():
                found.setdefault(int(row), None)
        if self.prior.doc > 0 or self.prior.neighbour > 0:
            chunks = self.index.chunks
            for cid in state.chunk_focus:
                row = self.index.row(cid)
                if row is None:
                    continue
                doc_id = chunks[row].doc_id
                for r in range(max(0, row - FOCUS_WINDOW), min(n, row + FOCUS_WINDOW + 1)):
                    if chunks[r].doc_id == doc_id:
                        found.setdefault(r, None)
        return list(found)

    def _prior(self, rows: Sequence[int], state: ConversationState) -> npt.NDArray[np.float32]:
        out = np.zeros(len(rows), dtype=np.float32)
        if state.empty or (self.prior.doc == 0 and self.prior.neighbour == 0):
            return out
        chunks = self.index.chunks
        near: dict[tuple[str, int], float] = {}
        for rank, cid in enumerate(state.last_chunks[:2]):
            try:
                doc_id, ordinal, _ = chunk_range(cid)
            except ValueError:
                continue
            for step in (-1, 0, 1):
                key = (doc_id, ordinal + step)
                near[key] = max(near.get(key, 0.0), 1.0 / (rank + 1))
        for i, row in enumerate(rows):
            chunk = chunks[row]
            out[i] = self.prior.doc * state.doc_focus.get(
                chunk.doc_id, 0.0
            ) + self.prior.neighbour * near.get((chunk.doc_id, chunk.ordinal), 0.0)
        return out


def _rrf(scores: npt.NDArray[np.float32], k: int) -> npt.NDArray[np.float32]:
    """Reciprocal-rank scores ``(k + 1) / (k + rank)`` (rank from 1; zero scores get 0)."""
    order = np.argsort(-scores, kind="stable")
    ranks = np.empty(len(scores), dtype=np.float32)
    ranks[order] = np.arange(1, len(scores) + 1, dtype=np.float32)
    out = ((k + 1) / (k + ranks)).astype(np.float32)
    out[scores <= 0] = 0.0
    return out
