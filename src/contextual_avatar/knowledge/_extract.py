"""What one turn teaches other avatars: a grounded retrieval prior, never the caller's words.

Callers do not trust each other, so a turn shares only this: *which document chunks
answered a question on these document terms*. Each fact says "chunk ``c`` of the
collection answered a question whose salient document terms hash to ``k``":

* the subject is a salted hash of one salient document term of the question (the engine
  passes only terms the indexed documents contain), or of the whole set of them (its
  kind, :func:`kind_key`, which the engine's retrieval prior matches exactly, so a
  question stuffed with extra words sways no other); the question's text is not stored;
* the object is the id of a chunk of an indexed document, so what another avatar
  receives is the document's own text, fetched from the index;
* the session is stored only as a one-way hash, so :meth:`forget` can delete its facts,
  and stores never return it;
* a turn teaches only when its answer is *grounded*: every sentence of the answer is
  supported by one context chunk (:func:`supporting_chunks`), and only those supporting
  chunks are shared. An answer the sources do not support teaches nothing.

Everything is deterministic: the same turn yields the same facts with the same ids, and one
session repeating a question thousands of times still casts one vote per (term, chunk).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence

from contextual_avatar._text import split_sentences
from contextual_avatar._text import terms as text_terms
from contextual_avatar.types import Answer, Fact, ScoredChunk

__all__ = [
    "ANSWERED_BY",
    "MAX_CHUNKS_PER_TURN",
    "MAX_KEYS",
    "SHARED_PREDICATES",
    "extract_facts",
    "fact_id",
    "feature_keys",
    "kind_key",
    "session_key",
    "supporting_chunks",
]

#: The one relation shared between sessions: a question kind was answered by a chunk.
ANSWERED_BY = "answered_by"
#: Predicates a sink serves; facts of any other kind (older releases) are never returned.
SHARED_PREDICATES = (ANSWERED_BY,)
#: At most this many keys per question (the rarest document terms come first).
MAX_KEYS = 8
#: At most this many supporting chunks are shared per turn.
MAX_CHUNKS_PER_TURN = 3

_KEY_DOMAIN = "contextual-avatar/term/v1"
_KIND_DOMAIN = "contextual-avatar/kind/v1"
_SESSION_DOMAIN = "contextual-avatar/session/v1"
_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)*")
_MARKER_RE = re.compile(r"\[\d+(?:\s*,\s*\d+)*\]")  # citation markers such as [1] or [1, 2]


def _digest(*parts: str, size: int) -> str:
    payload = "\x1f".join(p.replace("\x1f", "\x1f\x1f") for p in parts)
    return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()[:size]


def session_key(session_id: str) -> str:
    """The one-way name a store keeps for a session (``"sk:"`` and 32 hex digits).

    Stores never return it; it exists so that ``forget(session_id)`` finds the session's
    facts again.
    """
    return "sk:" + _digest(_SESSION_DOMAIN, session_id, size=32)


def feature_keys(terms: Iterable[str], collection: str, *, limit: int = MAX_KEYS) -> list[str]:
    """Salted, collection-scoped hashes of a question's document terms (24 hex digits each).

    Args:
        terms: Index terms (see :func:`contextual_avatar._text.terms`), most telling first;
            the engine passes only salient terms the collection's documents contain.
        collection: The knowledge base; the same term hashes differently in another one.
        limit: At most this many keys.

    Returns:
        Keys in the order of ``terms``, without repeats.
    """
    out: dict[str, None] = {}
    for term in terms:
        if term:
            out.setdefault(_digest(_KEY_DOMAIN, collection, term, size=24), None)
            if len(out) >= limit:
                break
    return list(out)


def kind_key(terms: Iterable[str], collection: str) -> str | None:
    """One salted hash of a question's whole set of document terms (its *kind*).

    Two questions share it only when they hold exactly the same document terms (in any
    order), so a vote under it says "a question just like this one was answered from this
    chunk"; a question that merely shares some terms with it (an attacker's, stuffed with
    words) does not match. ``None`` for a question without terms.
    """
    found = sorted({t for t in terms if t})
    if not found:
        return None
    return _digest(_KIND_DOMAIN, collection, *found, size=24)


def fact_id(*, collection: str, key: str, chunk_id: str, session: str) -> str:
    """A content hash naming one vote: this session saw this chunk answer this key."""
    return _digest(collection, key, chunk_id, session, size=32)


def _claims(sentence: str) -> tuple[set[str], set[str]]:
    clean = _MARKER_RE.sub(" ", sentence)
    return set(text_terms(clean)), set(_NUMBER_RE.findall(clean))


def supporting_chunks(text: str, context: Sequence[ScoredChunk]) -> list[ScoredChunk] | None:
    """The context chunks that support an answer, or ``None`` if any claim is unsupported.

    A sentence is supported by a chunk when every content term of the sentence (stemmed,
    stop words aside) occurs in the chunk and every number in it occurs in the chunk's
    text. A claim such as "tickets are free" survives only if the source says so.

    Args:
        text: The answer.
        context: The chunks the answer was given.

    Returns:
        Supporting chunks in context order (each sentence credits its first supporter);
        ``None`` when the answer is empty or one of its sentences has no supporter.
    """
    sentences = [text[a:b] for a, b in split_sentences(text)]
    if not any(s.strip() for s in sentences):
        return None
    bags = [
        (sc, set(text_terms(sc.chunk.text)), set(_NUMBER_RE.findall(sc.chunk.text)))
        for sc in context
    ]
    used: dict[str, ScoredChunk] = {}
    for sentence in sentences:
        words, numbers = _claims(sentence)
        if not words and not numbers:
            continue
        for sc, chunk_words, chunk_numbers in bags:
            if words <= chunk_words and numbers <= chunk_numbers:
                used.setdefault(sc.chunk.id, sc)
                break
        else:
            return None
    if not used:
        return None
    order = {sc.chunk.id: i for i, sc in enumerate(context)}
    return sorted(used.values(), key=lambda sc: order[sc.chunk.id])


def extract_facts(
    *,
    session_id: str,
    turn: int,
    question: str,
    answer: Answer,
    now: float,
    collection: str = "default",
    terms: Sequence[str] | None = None,
) -> list[Fact]:
    """The grounded retrieval prior one turn teaches; empty when nothing may be shared.

    Args:
        session_id: The conversation (stored only as :func:`session_key`).
        turn: The turn's number (not stored: it says nothing about the documents).
        question: The question; used only for its terms when ``terms`` is not given.
        answer: The answer given, with the context it used.
        now: Unix time the turn happened (injected, so tests need no clock).
        collection: The knowledge base the turn was answered from.
        terms: The question's salient document terms, rarest first (the engine passes
            them); ``None`` uses every index term of the question.

    Returns:
        One ``answered_by`` fact per (key, supporting chunk), in a stable order: the
        term keys (:func:`feature_keys`) and the question's :func:`kind_key`.
    """
    del turn  # documented: the turn number is not shared
    found = text_terms(question) if terms is None else list(terms)
    keys = feature_keys(found, collection)
    kind = kind_key(found, collection)
    if kind is not None:
        keys.append(kind)
    chunks = supporting_chunks(answer.text, answer.context)
    if not keys or chunks is None:
        return []
    who = session_key(session_id)
    facts: list[Fact] = []
    for sc in chunks[:MAX_CHUNKS_PER_TURN]:
        for key in keys:
            facts.append(
                Fact(
                    id=fact_id(collection=collection, key=key, chunk_id=sc.chunk.id, session=who),
                    subject=key,
                    predicate=ANSWERED_BY,
                    object=sc.chunk.id,
                    session_id=who,
                    turn=0,
                    sources=sc.chunk.refs,
                    created_at=now,
                    collection=collection,
                )
            )
    return facts
