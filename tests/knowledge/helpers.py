"""Builders for turns and facts shared by the knowledge tests."""

from __future__ import annotations

from contextual_avatar.knowledge import extract_facts
from contextual_avatar.testing import make_answer as _make_answer
from contextual_avatar.testing._contract_knowledge import HOSTILE_STRINGS
from contextual_avatar.types import Answer, Fact, SourceRef

# The contract suite's hostile strings, plus the empty one (valid for a fact, not a key).
HOSTILE = [*HOSTILE_STRINGS, ""]


def make_answer(
    question: str,
    text: str,
    *,
    session_id: str = "s",
    source: str = "guide.pdf",
    page: int = 3,
    chunk_text: str = "The Eiffel Tower is in Paris. It is 330 m tall.",
) -> Answer:
    """A one-chunk answer citing ``source`` page ``page``."""
    return _make_answer(
        question,
        text,
        session_id=session_id,
        context=[(chunk_text, SourceRef(source, page=page))],
        score=0.9,
    )


def turn_facts(session_id: str, turn: int, *, now: float = 1000.0) -> list[Fact]:
    """Facts of a synthetic turn whose content is unique to (session_id, turn)."""
    q = f"What is the capacity of Depot {turn} in Region {session_id}?"
    a = f"Depot {turn} in Region {session_id} holds {turn * 10} tonnes, says Ada Lovelace."
    return extract_facts(
        session_id=session_id, turn=turn, question=q, answer=make_answer(q, a), now=now + turn
    )


def plain_fact(session_id: str, i: int, *, subject: str = "s", obj: str = "o") -> Fact:
    from contextual_avatar.knowledge import fact_id

    return Fact(
        id=fact_id(
            at=0.0, session_id=session_id, turn=i, subject=subject, predicate="mentions", obj=obj
        ),
        subject=subject,
        predicate="mentions",
        object=obj,
        session_id=session_id,
        turn=i,
        sources=(SourceRef("doc.pdf", page=i + 1),),
        created_at=float(i),
    )
