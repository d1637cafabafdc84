"""Stage *record*: what the turn leaves behind (history, cost, what it taught).

What it taught is a grounded retrieval prior (see :mod:`contextual_avatar.knowledge`):
hashed document terms of the question and the chunks that supported every claim of the
answer; never the question or the answer text.

A barge-in is recorded here too, so an interrupted turn leaves the same traces as a
finished one: the history says it was cut, the ledger prices what was spoken.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from contextual_avatar.cache import History, session_tag
from contextual_avatar.knowledge import extract_facts
from contextual_avatar.pipeline._knowledge import SharedKnowledge
from contextual_avatar.pipeline._state import TurnState
from contextual_avatar.routing import CostLedger, LedgerEntry, Reply, baseline_prompt_tokens
from contextual_avatar.types import TokenUsage, Turn

__all__ = ["INTERRUPTED_MARK", "Record"]

log = logging.getLogger(__name__)

#: Appended to an answer cut short by a barge-in, as the session history keeps it.
INTERRUPTED_MARK = " [interrupted]"


class Record:
    """Appends the turn to the history, prices it and submits its facts in the background."""

    name = "record"

    def __init__(
        self,
        history: History,
        ledger: CostLedger,
        knowledge: SharedKnowledge,
        *,
        count_tokens: Callable[[str], int],
        baseline_top_k: int,
        chunk_tokens: int,
        count_context: Callable[[str], int] | None = None,
    ) -> None:
        """Record into ``history``, ``ledger`` and ``knowledge``.

        Args:
            history: The sessions' turns.
            ledger: Tokens and cost per turn against the baseline.
            knowledge: Where the turn's facts go.
            count_tokens: Counts tokens for the baseline and for interrupted turns.
            baseline_top_k: Chunks the full-retrieval baseline would send.
            chunk_tokens: Tokens per chunk in that baseline.
            count_context: Counts context chunks' tokens (default ``count_tokens``; the
                engine passes a memoised counter, for document text only).
        """
        self._history = history
        self._ledger = ledger
        self._knowledge = knowledge
        self._count = count_tokens
        self._count_context = count_context or count_tokens
        self._baseline_top_k = baseline_top_k
        self._chunk_tokens = chunk_tokens

    async def __call__(self, turn: TurnState) -> None:
        """Fill ``turn_number`` and ``saved_usd``; queue the turn's facts."""
        reply, route = turn.reply, turn.route
        if reply is None or route is None:
            raise RuntimeError("the record stage needs an answered turn")
        turn.turn_number = await self._history.append(
            turn.session_id,
            Turn(turn.question, reply.text, tuple(c.chunk.id for c in turn.context)),
        )
        entry = await asyncio.to_thread(self._price, turn, reply, interrupted=False)
        turn.saved_usd = entry.saved_usd
        if self._knowledge.sink is not None:
            # Only a grounded answer teaches, and only which chunks supported it.
            self._knowledge.submit(
                extract_facts(
                    session_id=turn.session_id,
                    turn=turn.turn_number,
                    question=turn.question,
                    answer=turn.answer(),
                    now=time.time(),
                    collection=turn.collection,
                    terms=self._knowledge.terms(turn.question, turn.collection),
                )
            )

    async def interrupted(self, turn: TurnState) -> None:
        """Keep a barged-in turn consistent: history says it was cut, the ledger prices it.

        Prompt tokens are estimated (question plus context), since the stream ended
        before the model reported them.
        """
        if turn.route is None:
            return
        text = turn.partial.strip()
        await self._history.append(
            turn.session_id,
            Turn(turn.question, text + INTERRUPTED_MARK, tuple(c.chunk.id for c in turn.context)),
        )
        prompt = self._count(turn.question) + sum(
            self._count_context(c.chunk.text) for c in turn.context
        )
        usage = TokenUsage(prompt, self._count(text) if text else 0)
        reply = Reply(text, (), usage, 0.0, turn.route.model or "")
        await asyncio.to_thread(self._price, turn, reply, interrupted=True)
        log.debug(
            "session %s: answer interrupted after %d characters",
            session_tag(turn.session_id),
            len(text),
        )

    def _price(self, turn: TurnState, reply: Reply, *, interrupted: bool) -> LedgerEntry:
        """Record a turn in the ledger beside its full-retrieval, large-model baseline."""
        assert turn.route is not None
        baseline = baseline_prompt_tokens(
            prompt_tokens=reply.tokens.prompt,
            context_tokens=sum(self._count_context(c.chunk.text) for c in turn.context),
            top_k=self._baseline_top_k,
            chunk_tokens=self._chunk_tokens,
        )
        return self._ledger.record(
            turn.session_id,
            model=reply.model,
            tier=turn.route.tier,
            tokens=reply.tokens,
            cached_prompt_tokens=reply.cached_prompt_tokens,
            baseline_prompt_tokens=baseline,
            interrupted=interrupted,
            reported_usd=reply.cost_usd,
        )
