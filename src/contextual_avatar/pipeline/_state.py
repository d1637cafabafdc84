"""What one turn carries from stage to stage, and the :class:`Answer` it ends in."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from contextual_avatar.retrieval import ConversationState
from contextual_avatar.routing import Reply
from contextual_avatar.types import (
    Answer,
    CacheDecision,
    Fact,
    RouteDecision,
    ScoredChunk,
    Turn,
)

__all__ = ["TurnState"]


@dataclass(slots=True)
class TurnState:
    """One turn in flight. Each stage reads what earlier stages wrote and adds its part.

    Parameters:
        session_id: The caller's session (validated).
        question: The caller's question (validated, stripped).
        collection: The knowledge base the session is bound to (validated).
        instructions: The host's instructions for this turn only (validated); never
            stored, so no other turn or session sees them.
        history: The session's recent turns, oldest first (understand).
        conversation: What the session has been about (understand).
        queries: Search texts: the question, then conversation-aware variants (understand).
        vectors: Their embeddings, one row per query (understand).
        cache: Whether the session cache served the turn, and why (recall).
        context: Chunks given to the model, best first (recall, assemble, enrich).
        facts: Shared knowledge that bears on the question (enrich).
        route: The tier that answers and why (route).
        deltas: Text streamed so far (answer).
        reply: The model's final reply (answer).
        turn_number: The turn's number in the session's history (record).
        saved_usd: Saving against the baseline, from the ledger (record).
        timings: Milliseconds per stage (and a few sub-steps).
    """

    session_id: str
    question: str
    collection: str = "default"
    instructions: str | None = None
    history: list[Turn] = field(default_factory=list)
    conversation: ConversationState = field(default_factory=ConversationState)
    queries: list[str] = field(default_factory=list)
    vectors: npt.NDArray[np.float32] = field(
        default_factory=lambda: np.zeros((0, 0), dtype=np.float32)
    )
    cache: CacheDecision | None = None
    context: list[ScoredChunk] = field(default_factory=list)
    facts: list[Fact] = field(default_factory=list)
    route: RouteDecision | None = None
    deltas: list[str] = field(default_factory=list)
    reply: Reply | None = None
    turn_number: int = 0
    saved_usd: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def partial(self) -> str:
        """The text streamed so far."""
        return "".join(self.deltas)

    def answer(self) -> Answer:
        """The finished turn as the caller sees it.

        Raises:
            RuntimeError: The answer stage has not produced a reply.
        """
        if self.reply is None or self.cache is None or self.route is None:
            raise RuntimeError("the turn has not been answered yet")
        return Answer(
            text=self.reply.text,
            citations=self.reply.citations,
            context=tuple(self.context),
            cache_hit=self.cache.hit,
            cache=self.cache,
            route=self.route,
            tokens=self.reply.tokens,
            cost_usd=self.reply.cost_usd,
            timings=self.timings,
            session_id=self.session_id,
            question=self.question,
            saved_usd=self.saved_usd,
            facts=tuple(self.facts),
        )
