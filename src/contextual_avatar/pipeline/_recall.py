"""Stage *recall*: the session cache first; on a miss, search and admit the results.

The turn answers from its collection's current index version, taken once: the cache is
checked against it (chunks removed since they were cached are not served), a miss
searches it, and neighbours come from it, so an ingest published mid-turn never mixes
two versions into one answer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence

import numpy as np
import numpy.typing as npt

from contextual_avatar.cache import ChunkCache, scoped_session
from contextual_avatar.errors import InputError
from contextual_avatar.pipeline._scope import Scope
from contextual_avatar.pipeline._state import TurnState
from contextual_avatar.retrieval import (
    DEFAULT_COLLECTION,
    Corpus,
    CorpusVersion,
    Embedder,
    Retriever,
    terms,
)
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
        retriever: Retriever | None,
        scope: Scope,
        embedder: Embedder,
        *,
        top_k: int,
        common_term_share: float,
        backend: Callable[[str, Corpus], Retriever] | None = None,
        prior: Callable[[TurnState], Awaitable[None]] | None = None,
    ) -> None:
        """Look up in ``cache``; on a miss search for ``top_k`` chunks.

        Args:
            cache: The session chunk cache.
            retriever: A host's retriever, which serves the default collection only;
                ``None`` searches the turn's collection with the built-in retriever.
            scope: Resolves the turn's collection and the session's binding.
            embedder: Embeds chunks a host retriever found outside the corpus.
            top_k: Chunks a search returns.
            common_term_share: Terms in more of the corpus than this do not mark a topic.
            backend: With no host retriever, the searcher of a collection kept in line
                with its corpus (``retrieval.backend = "milvus"``); ``None``: the corpus.
            prior: Re-ranks the turn's candidates by what other sessions learned (the
                shared retrieval prior), before the assemble stage fills the budget.
        """
        self._cache = cache
        self._retriever = retriever
        self._scope = scope
        self._embedder = embedder
        self._top_k = top_k
        self._common = common_term_share
        self._prior = prior
        self._backend = backend

    async def __call__(self, turn: TurnState) -> None:
        """Fill ``cache`` (the decision) and ``context``."""
        started = time.perf_counter()
        if self._retriever is not None and turn.collection != DEFAULT_COLLECTION:
            raise InputError(
                f"collection {turn.collection!r} cannot be searched: this engine was given "
                "its own retriever (Parts.retriever), which serves the default collection"
            )
        corpus = await self._scope.enter(turn.session_id, turn.collection)
        version = corpus.current  # this turn's version, to the end
        own = self._retriever is None
        session = scoped_session(turn.collection, turn.session_id)
        salient = version.salient(terms(turn.question), max_share=self._common)
        cached, turn.cache = await self._cache.lookup(
            session,
            turn.vectors,
            terms=salient,
            focus=turn.conversation.doc_focus,
            source=version,
            validate=own,
        )
        searched = time.perf_counter()
        turn.timings["cache"] = (searched - started) * 1000
        if turn.cache.hit:
            turn.context = cached
            turn.timings["search"] = 0.0
            if self._prior is not None:
                await self._prior(turn)
            return
        retriever: Retriever = version if self._retriever is None else self._retriever
        if self._retriever is None and self._backend is not None:
            retriever = self._backend(turn.collection, corpus)
        # Off the loop: the version is immutable, and a search costs milliseconds of CPU.
        turn.context = await asyncio.to_thread(
            retriever.search, turn.queries, turn.vectors, self._top_k, state=turn.conversation
        )
        if turn.context:
            vectors = await self._vectors(turn.context, version)
            await self._cache.admit(session, turn.context, vectors, source=version)
        turn.timings["search"] = (time.perf_counter() - searched) * 1000
        if self._prior is not None:
            await self._prior(turn)

    async def _vectors(
        self, context: Sequence[ScoredChunk], version: CorpusVersion
    ) -> npt.NDArray[np.float32]:
        """Stored vectors of the results; chunks a host retriever found elsewhere are embedded."""
        ids = [c.chunk.id for c in context]
        known, stored = version.lookup(ids)
        if len(known) == len(ids):
            return stored
        row = {c.id: stored[i] for i, c in enumerate(known)}
        missing = [c.chunk.text for c in context if c.chunk.id not in row]
        fresh = iter(await asyncio.to_thread(self._embedder.embed, missing))
        return np.stack([row[i] if i in row else next(fresh) for i in ids]).astype(np.float32)
