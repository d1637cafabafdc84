"""Builders for turns and facts shared by the knowledge tests."""

from __future__ import annotations

from contextual_avatar.knowledge import ANSWERED_BY, fact_id, feature_keys
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
    chunk_text: str | None = None,
) -> Answer:
    """A one-chunk answer citing ``source`` page ``page``; the chunk says ``text`` by default."""
    return _make_answer(
        question,
        text,
        session_id=session_id,
        context=[(text if chunk_text is None else chunk_text, SourceRef(source, page=page))],
        score=0.9,
    )


def raw_vote(
    session_id: str, key: str, chunk_id: str, *, collection: str = "default", now: float = 0.0
) -> Fact:
    """A fact stored under the session id as given (writer tests count by id prefix)."""
    return Fact(
        id=fact_id(collection=collection, key=key, chunk_id=chunk_id, session=session_id),
        subject=key,
        predicate=ANSWERED_BY,
        object=chunk_id,
        session_id=session_id,
        turn=0,
        sources=(SourceRef("guide.pdf", page=3),),
        created_at=now,
        collection=collection,
    )


def turn_facts(session_id: str, turn: int, *, now: float = 1000.0) -> list[Fact]:
    """Facts of a synthetic turn whose content is unique to (session_id, turn)."""
    keys = feature_keys([f"depot{turn}", f"region{turn}", "capac"], "default")
    chunks = [f"doc{turn}:{i}" for i in range(2)]
    return [raw_vote(session_id, k, c, now=now + turn) for c in chunks for k in keys]


def hostile_facts(session_id: str, turn: int, name: str) -> list[Fact]:
    """Facts whose chunk ids carry hostile text (quotes, Cypher fragments, newlines)."""
    keys = feature_keys([f"turn{turn}", "hostil"], "default")
    return [raw_vote(session_id, k, f"{name or 'Nobody'}#{turn}", now=float(turn)) for k in keys]


def plain_fact(session_id: str, i: int, *, subject: str = "s", obj: str = "o") -> Fact:
    """One fact with a distinct id per ``(session_id, i)``."""
    fact = raw_vote(session_id, f"{subject}{i}", obj, now=float(i))
    return Fact(
        id=fact.id,
        subject=fact.subject,
        predicate=fact.predicate,
        object=fact.object,
        session_id=fact.session_id,
        turn=i,
        sources=(SourceRef("doc.pdf", page=i + 1),),
        created_at=float(i),
        collection=fact.collection,
    )
