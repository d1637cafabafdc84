"""Stage *recall*: the session cache first; on a miss, search and admit the results."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from contextual_avatar.cache import ChunkCache
from contextual_avatar.pipeline._state import TurnState
from contextual_avatar.retrieval import Corpus, Embedder, Retriever, terms
from contextual_avatar.types import ScoredChunk

__all__ = ["Recall"]


class Recall:
    """Serves the turn from the session's cached chunks, or searches and caches.

    The cache judges with the same evidence as the retriever: cosine, the question's
    rarer terms (names, places: what marks a topic) and the conversation's focus.
    """

    name = "recall"

    def __init__(
        self,
        cache: ChunkCache,
        retriever: Retriever,
        corpus: Corpus,
        embedder: Embedder,
        *,
        top_k: int,
        common_term_share: float,
    ) -> None:
        """Look up in ``cache``; on a miss search ``retriever`` for ``top_k`` chunks.

        Args:
            cache: The session chunk cache.
            retriever: What a miss searches (the corpus itself by default).
            corpus: Term statistics and the stored vectors of indexed chunks.
            embedder: Embeds chunks a host retriever found outside the corpus.
            top_k: Chunks a search returns.
            common_term_share: Terms in more of the corpus than this do not mark a topic.
        """
        self._cache = cache
        self._retriever = retriever
        self._corpus = corpus
        self._embedder = embedder
        self._top_k = top_k
        self._common = common_term_share

    async def __call__(self, turn: TurnState) -> None:
        """Fill ``cache`` (the decision) and ``context``."""
        started = time.perf_counter()
        salient = self._corpus.salient(terms(turn.question), max_share=self._common)
        cached, turn.cache = await self._cache.lookup(
            turn.session_id, turn.vectors, terms=salient, focus=turn.conversation.doc_focus
        )
        searched = time.perf_counter()
        turn.timings["cache"] = (searched - started) * 1000
        if turn.cache.hit:
            turn.context = cached
            turn.timings["search"] = 0.0
            return
        # On the loop, as ingest's index changes are: a search never sees half a change.
        turn.context = self._retriever.search(
            turn.queries, turn.vectors, self._top_k, state=turn.conversation
        )
        if turn.context:
            vectors = await self._vectors(turn.context)
            await self._cache.admit(turn.session_id, turn.context, vectors)
        turn.timings["search"] = (time.perf_counter() - searched) * 1000

    async def _vectors(self, context: Sequence[ScoredChunk]) -> npt.NDArray[np.float32]:
        """Stored vectors of the results; chunks a host retriever found elsewhere are embedded."""
        ids = [c.chunk.id for c in context]
        known, stored = self._corpus.lookup(ids)
        if len(known) == len(ids):
            return stored
        row = {c.id: stored[i] for i, c in enumerate(known)}
        missing = [c.chunk.text for c in context if c.chunk.id not in row]
        fresh = iter(await asyncio.to_thread(self._embedder.embed, missing))
        return np.stack([row[i] if i in row else next(fresh) for i in ids]).astype(np.float32)
