"""Builders for turns and facts shared by the knowledge tests."""

from __future__ import annotations

from contextual_avatar.knowledge import extract_facts
from contextual_avatar.types import (
    Answer,
    CacheDecision,
    Chunk,
    Fact,
    RouteDecision,
    ScoredChunk,
    SourceRef,
    Span,
    Tier,
    TokenUsage,
)

HOSTILE = [
    'O\'Brien "quoted"',
    "back`tick`",
    "x'}) DETACH DELETE n //",
    '"}) MATCH (n) DETACH DELETE n RETURN 1 //',
    "line one\nline two\r\n",
    "$param {braces} [brackets] ; -- comment",
    "Ünïcödé Straße 東京 \u200b zero-width",
    "emoji 🧪🔥 and RTL \u202e evil",
    "\\ backslash \\' \\\"",
    "",
]


def make_answer(
    question: str,
    text: str,
    *,
    session_id: str = "s",
    source: str = "guide.pdf",
    page: int = 3,
    chunk_text: str = "The Eiffel Tower is in Paris. It is 330 m tall.",
) -> Answer:
    ref = SourceRef(source, page=page)
    chunk = Chunk(
        id=f"{source}:0",
        doc_id=source,
        ordinal=0,
        text=chunk_text,
        spans=(Span(0, len(chunk_text), ref),),
    )
    return Answer(
        text=text,
        citations=(ref,),
        context=(ScoredChunk(chunk, 0.9),),
        cache_hit=False,
        cache=CacheDecision(hit=False, score=0.0, threshold=0.5, reason="cold"),
        route=RouteDecision(Tier.SMALL, "small", 0.9, 0.5, "strong evidence"),
        tokens=TokenUsage(10, 5),
        cost_usd=0.0,
        timings={},
        session_id=session_id,
        question=question,
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
        id=fact_id(session_id=session_id, turn=i, subject=subject, predicate="mentions", obj=obj),
        subject=subject,
        predicate="mentions",
        object=obj,
        session_id=session_id,
        turn=i,
        sources=(SourceRef("doc.pdf", page=i + 1),),
        created_at=float(i),
    )
