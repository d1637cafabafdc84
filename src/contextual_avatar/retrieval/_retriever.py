"""The retriever seam: what the engine calls on a cache miss.

:class:`DenseRetriever` searches the FAISS index with the query vectors;
:class:`~contextual_avatar.retrieval.HybridRetriever` (the default) fuses it with BM25
and the conversation state. A user's own retriever implements the same protocol.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from contextual_avatar.retrieval._faiss import FaissIndex
from contextual_avatar.retrieval._state import ConversationState
from contextual_avatar.types import ScoredChunk

__all__ = ["DenseRetriever", "Retriever"]


class Retriever(Protocol):
    """Finds the chunks that best answer a set of queries."""

    def search(
        self,
        texts: Sequence[str],
        vectors: npt.NDArray[np.float32],
        k: int,
        *,
        state: ConversationState | None = None,
    ) -> list[ScoredChunk]:
        """Return up to ``k`` chunks, best first.

        Args:
            texts: The query texts (the question, then conversation-aware variants).
            vectors: Their embeddings, one row per text.
            k: How many chunks to return.
            state: The session's conversation state; a retriever may ignore it.
        """
        ...


class DenseRetriever:
    """Cosine search over the vector index; a chunk scores its best match to any query."""

    def __init__(self, index: FaissIndex) -> None:
        """Search ``index``."""
        self.index = index

    def search(
        self,
        texts: Sequence[str],
        vectors: npt.NDArray[np.float32],
        k: int,
        *,
        state: ConversationState | None = None,
    ) -> list[ScoredChunk]:
        """See :meth:`Retriever.search` (the state is ignored)."""
        return self.index.search(vectors, k)
