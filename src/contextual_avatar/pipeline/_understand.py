"""Stage *understand*: what the session has said, and the queries the turn searches with."""

from __future__ import annotations

import asyncio
import time

from contextual_avatar.cache import History
from contextual_avatar.pipeline._state import TurnState
from contextual_avatar.retrieval import (
    Embedder,
    RetrievalConfig,
    conversation_queries,
    conversation_state,
)

__all__ = ["Understand"]


class Understand:
    """Reads the session's history, derives its state and embeds the queries.

    A follow-up ("and for children?") means little alone, so the queries are the
    question and, when there is history, the question with the previous ones.
    """

    name = "understand"

    def __init__(self, history: History, embedder: Embedder, config: RetrievalConfig) -> None:
        """Use ``history`` for past turns and ``embedder`` for the queries."""
        self._history = history
        self._embedder = embedder
        self._config = config

    async def __call__(self, turn: TurnState) -> None:
        """Fill ``history``, ``conversation``, ``queries`` and ``vectors``."""
        cfg = self._config
        turn.history = await self._history.recent(turn.session_id)
        turn.conversation = conversation_state(cfg, turn.history)
        turn.queries = conversation_queries(
            turn.question, turn.history, turns=cfg.history_turns if cfg.conversation else 0
        )
        started = time.perf_counter()
        turn.vectors = await asyncio.to_thread(self._embedder.embed, turn.queries)
        turn.timings["embed"] = (time.perf_counter() - started) * 1000
