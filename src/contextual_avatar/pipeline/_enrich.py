"""Stage *enrich*: shared knowledge other avatars earned, beside the turn's documents.

It runs concurrently with the stages before *route* (the graph is a network hop) and is
joined after routing: facts are added after the document context, so they never take
the documents' budget and do not sway the router.
"""

from __future__ import annotations

from contextual_avatar.knowledge import format_fact
from contextual_avatar.pipeline._knowledge import SharedKnowledge
from contextual_avatar.pipeline._state import TurnState
from contextual_avatar.types import KNOWLEDGE_DOC_ID, Chunk, Fact, ScoredChunk, SourceRef, Span

__all__ = ["Enrich", "fact_chunk"]


class Enrich:
    """Finds the facts that bear on the question; :meth:`attach` adds them to the context."""

    name = "enrich"

    def __init__(self, knowledge: SharedKnowledge) -> None:
        """Read related facts through ``knowledge``."""
        self._knowledge = knowledge

    async def __call__(self, turn: TurnState) -> None:
        """Fill ``facts``."""
        turn.facts = await self._knowledge.related(turn.session_id, turn.question)

    @staticmethod
    def attach(turn: TurnState) -> None:
        """Append the facts to the context, cited as shared knowledge."""
        turn.context = turn.context + [fact_chunk(f) for f in turn.facts]


def fact_chunk(fact: Fact) -> ScoredChunk:
    """A related fact as a context item, cited as shared knowledge."""
    text = format_fact(fact)
    ref = SourceRef(source=f"shared knowledge (turn {fact.turn} of another conversation)")
    chunk = Chunk(f"fact:{fact.id}", KNOWLEDGE_DOC_ID, 0, text, (Span(0, len(text), ref),))
    return ScoredChunk(chunk, 0.0)
