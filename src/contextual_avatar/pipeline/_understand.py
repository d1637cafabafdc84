"""Stage *understand*: what the session has said, and the queries the turn searches with."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import numpy.typing as npt
from cachetools import LRUCache

from contextual_avatar.cache import History
from contextual_avatar.pipeline._state import TurnState
from contextual_avatar.retrieval import (
    BatchingEmbedder,
    Embedder,
    Memo,
    RetrievalConfig,
    composed_vector,
    conversation_queries,
    conversation_state,
    remember,
)

__all__ = ["Understand"]

# Sessions whose recent texts are kept, and texts kept per session (a turn has two
# queries; the offline answerer embeds the same two again).
_SESSIONS = 4096
_TEXTS_PER_SESSION = 8


class Understand:
    """Reads the session's history, derives its state and embeds the queries.

    A follow-up ("and for children?") means little alone, so the queries are the
    question and, when there is history, the question with the previous ones.

    Vectors a session already computed are reused: each session has a small memo of
    its recent texts, which the turn's later embeddings (the offline answerer's) consult
    too. A memo is one session's own, so no caller's text serves another's turn.
    """

    name = "understand"

    def __init__(self, history: History, embedder: Embedder, config: RetrievalConfig) -> None:
        """Use ``history`` for past turns and ``embedder`` for the queries.

        A :class:`~contextual_avatar.retrieval.BatchingEmbedder` is awaited directly (its
        batch shared with concurrent turns, reusing the session memo); any other
        embedder runs in a worker thread.
        """
        self._history = history
        self._embedder = embedder
        self._config = config
        self._memos: LRUCache[str, Memo] = LRUCache(maxsize=_SESSIONS)

    def memo(self, session_id: str) -> Memo:
        """The session's memo of recent texts and their vectors."""
        memo = self._memos.get(session_id)
        if memo is None:
            memo = self._memos[session_id] = LRUCache(maxsize=_TEXTS_PER_SESSION)
        return memo

    async def __call__(self, turn: TurnState) -> None:
        """Fill ``history``, ``conversation``, ``queries`` and ``vectors``."""
        cfg = self._config
        turn.history = await self._history.recent(turn.session_id)
        turn.conversation = conversation_state(cfg, turn.history)
        turn.queries = conversation_queries(
            turn.question, turn.history, turns=cfg.history_turns if cfg.conversation else 0
        )
        started = time.perf_counter()
        if isinstance(self._embedder, BatchingEmbedder):
            remember(self.memo(turn.session_id))  # for the rest of this turn
            turn.vectors = await self._embed(self._embedder, turn)
        else:
            turn.vectors = await asyncio.to_thread(self._embedder.embed, turn.queries)
        turn.vectors = np.ascontiguousarray(turn.vectors, dtype=np.float32)
        turn.timings["embed"] = (time.perf_counter() - started) * 1000

    async def _embed(self, batcher: BatchingEmbedder, turn: TurnState) -> npt.NDArray[np.float32]:
        """The queries' vectors, the conversation query's composed when it can be.

        With ``compose_queries`` and the previous questions' vectors in the session's
        memo (they were this session's queries), only the question is embedded; the
        joined query's vector is their :func:`composed_vector`, memoised under the joined
        text so the offline answerer, which asks for the same text, reuses it.
        """
        queries = turn.queries
        recent = [t.question for t in turn.history[-self._config.history_turns :]]
        known = batcher.memoised(recent) if len(queries) == 2 else []
        if not (self._config.compose_queries and known and all(v is not None for v in known)):
            return await batcher.aembed(queries)
        question = (await batcher.aembed(queries[:1]))[0]
        joined = composed_vector(question, [v for v in known if v is not None])
        batcher.memoise(queries[1], joined)
        return np.stack([question, joined])
