"""Offline fact extraction: what one conversational turn teaches, with provenance.

:func:`extract_facts` needs no model and no key. From a turn it records who asked what
(``asked``), the answer and the sources it cited (``answered``), the chunks it relied on
(``relied_on``), the entities the question, answer and context mention (``mentions``), and
entities that occur in one sentence of the answer (``related_to``). Entities are capitalised
phrases ("Eiffel Tower", "Jean de La Fontaine"), numbers with units or currency ("330 m",
"$30", "12%") and years. Everything is deterministic: the same turn always yields the same
facts with the same ids, so a replayed write has one effect.

:func:`index_terms` gives the lookup keys (entity keys and content words) that both sinks
index, so ``related()`` ranks alike on SQLite and Neo4j.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence

from contextual_avatar._text import FACT_STOP_WORDS, split_sentences
from contextual_avatar.types import Answer, Fact, SourceRef, merge_refs

__all__ = [
    "ANSWERED",
    "ASKED",
    "DEFAULT_MAX_KEY_DF",
    "DEFAULT_MAX_QUERY_KEYS",
    "MENTIONS",
    "RELATED_TO",
    "RELIED_ON",
    "entity_key",
    "extract_entities",
    "extract_facts",
    "fact_entries",
    "fact_id",
    "index_entries",
    "index_terms",
]

ASKED = "asked"
ANSWERED = "answered"
RELIED_ON = "relied_on"
MENTIONS = "mentions"
RELATED_TO = "related_to"

MAX_ENTITIES_PER_TEXT = 16
MAX_ENTITIES_PER_CHUNK = 8
MAX_RELATIONS = 8
MAX_TERMS = 48
MIN_WORD_LEN = 3
#: ``related()`` ignores keys found on more facts than this: they cost a scan and say nothing.
DEFAULT_MAX_KEY_DF = 1000
#: ``related()`` uses at most this many of a question's keys, rarest first.
DEFAULT_MAX_QUERY_KEYS = 8

# Connectors allowed inside a capitalised phrase: "Bank of England", "Jean de La Fontaine".
_CONNECTORS = frozenset({"of", "de", "da", "del", "der", "van", "von", "du", "la", "le", "the"})

_UNITS = (
    r"%|percent|per cent|km/h|km|cm|mm|nm|m|kg|mg|g|lb|lbs|oz|t|tons?|tonnes?|ms|s|sec|secs"
    r"|seconds?|min|mins|minutes?|h|hrs?|hours?|days?|weeks?|months?|years?|decades?|centuries"
    r"|century|kb|mb|gb|tb|kib|mib|gib|tib|hz|khz|mhz|ghz|w|kw|mw|gw|kwh|v|mph|°c|°f|°"
    r"|dollars?|euros?|pounds?|usd|eur|gbp|people|users|employees|pages?|miles?|feet|foot|ft"
    r"|inches|inch|in|litres?|liters?|l|ml|metres?|meters?|kilometres?|kilometers?"
    r"|million|billion|trillion|thousand|hundred"
)
_NUMBER_RE = re.compile(
    rf"(?<![\w.])(?P<cur>[$€£¥]\s?)?(?P<num>\d{{1,3}}(?:,\d{{3}})+|\d+)(?:\.\d+)?"
    rf"(?:\s?(?P<unit>{_UNITS})(?![\w/]))?",
    re.IGNORECASE,
)
# Not _text.words: lookup keys keep inner apostrophes and hyphens ("don't", "e-mail") and
# are not stemmed, because the graphs store them; another split would orphan stored keys.
_WORD_RE = re.compile(r"[^\W_](?:[\w'’\-]*[^\W_])?")
_YEAR_RE = re.compile(r"^(1[0-9]{3}|20[0-9]{2})$")


def entity_key(name: str) -> str:
    """The stable key of an entity name: Unicode NFKC, case-folded, single-spaced.

    Args:
        name: An entity name as written.

    Returns:
        The key that identifies the entity in every store (``"Eiffel  Tower"`` and
        ``"eiffel tower"`` share one).
    """
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def fact_id(
    *, session_id: str, turn: int, at: float, subject: str, predicate: str, obj: str
) -> str:
    """A content hash naming one fact learned at one turn (32 hex digits).

    The turn's time ``at`` is part of the name because turn numbers are not unique for
    ever: they start again at 1 when a session's history is lost (idle expiry, a Redis
    restart, an outage served from process memory), and a later turn with an old number
    must not merge into the earlier turn's facts. Re-extracting a turn with the same
    inputs, its time included, yields the same ids.
    """
    parts = (session_id, str(turn), repr(float(at)), subject, predicate, obj)
    payload = "\x1f".join(p.replace("\x1f", "\x1f\x1f") for p in parts)
    return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _is_capitalised(word: str) -> bool:
    return word[:1].isupper()


def _capitalised_phrases(sentence: str) -> list[str]:
    words = list(_WORD_RE.finditer(sentence))
    found: list[str] = []
    i = 0
    while i < len(words):
        word = words[i].group()
        if not _is_capitalised(word):
            i += 1
            continue
        start = i
        end = i  # inclusive index of the last capitalised word
        j = i + 1
        while j < len(words):
            gap = sentence[words[j - 1].end() : words[j].start()]
            if gap.strip(" '’-"):  # punctuation breaks a phrase
                break
            nxt = words[j].group()
            if _is_capitalised(nxt):
                end = j
                j += 1
            elif nxt.casefold() in _CONNECTORS and j + 1 < len(words):
                j += 1
            else:
                break
        # Leading "The"/"What" and the like are not part of a name.
        while start <= end and words[start].group().casefold() in FACT_STOP_WORDS:
            start += 1
        if start <= end:
            phrase = sentence[words[start].start() : words[end].end()]
            if len(phrase) > 1 and not (start == end and entity_key(phrase) in FACT_STOP_WORDS):
                found.append(phrase)
        i = end + 1 if end >= i else i + 1
    return found


def _numbers(text: str) -> list[str]:
    found: list[str] = []
    for m in _NUMBER_RE.finditer(text):
        if m.group("cur") or m.group("unit") or _YEAR_RE.match(m.group()):
            found.append(m.group().strip())
    return found


def _sentences(text: str) -> list[str]:
    """The sentences the answerer quotes and the chunker cuts at (one notion of sentence)."""
    return [text[a:b] for a, b in split_sentences(text)]


def extract_entities(text: str, *, limit: int = MAX_ENTITIES_PER_TEXT) -> list[str]:
    """Entities in ``text``: capitalised phrases, numbers with units or currency, years.

    Args:
        text: Any text.
        limit: At most this many entities are returned.

    Returns:
        Entity names as written, in order of first appearance, one per :func:`entity_key`.
    """
    seen: set[str] = set()
    out: list[str] = []
    for sentence in _sentences(text):
        for name in (*_capitalised_phrases(sentence), *_numbers(sentence)):
            key = entity_key(name)
            if key and key not in seen:
                seen.add(key)
                out.append(name)
                if len(out) >= limit:
                    return out
    return out


def index_entries(texts: Iterable[str], *, limit: int = MAX_TERMS) -> dict[str, str]:
    """Lookup keys for texts with a display name each: entity keys, then content words.

    Both sinks index facts by these keys and ``related()`` ranks facts by how many keys
    they share with the question, so the two backends answer alike.

    Args:
        texts: The texts to index (a fact's subject and object, or a question).
        limit: At most this many keys are returned.

    Returns:
        ``{key: name}`` in order of first appearance; an entity's name is as written, a
        word's name is its key.
    """
    seen: dict[str, str] = {}
    chunks = list(texts)
    for text in chunks:
        for name in extract_entities(text):
            seen.setdefault(entity_key(name), name)
    for text in chunks:
        for m in _WORD_RE.finditer(unicodedata.normalize("NFKC", text)):
            word = m.group().casefold()
            long_enough = len(word) >= MIN_WORD_LEN or (word.isdigit() and len(word) > 1)
            if long_enough and word not in FACT_STOP_WORDS:
                seen.setdefault(word, word)
    return dict(list(seen.items())[:limit])


def index_terms(texts: Iterable[str], *, limit: int = MAX_TERMS) -> list[str]:
    """The keys of :func:`index_entries`, in order."""
    return list(index_entries(texts, limit=limit))


def fact_entries(fact: Fact, *, limit: int = MAX_TERMS) -> dict[str, str]:
    """The lookup keys a sink indexes a fact under, each with a display name.

    Entity ends of ``mentions`` and ``related_to`` facts come first, by their exact names,
    so an entity node carries the name verbatim; then :func:`index_entries` of the
    subject and object.
    """
    named: dict[str, str] = {}
    if fact.predicate == RELATED_TO:
        named[entity_key(fact.subject)] = fact.subject
    if fact.predicate in (MENTIONS, RELATED_TO):
        named.setdefault(entity_key(fact.object), fact.object)
    named.pop("", None)
    for key, name in index_entries((fact.subject, fact.object), limit=limit).items():
        named.setdefault(key, name)
    return dict(list(named.items())[:limit])


def _fact(
    *,
    session_id: str,
    turn: int,
    subject: str,
    predicate: str,
    obj: str,
    sources: Sequence[SourceRef],
    now: float,
) -> Fact:
    return Fact(
        id=fact_id(
            session_id=session_id, turn=turn, at=now, subject=subject, predicate=predicate, obj=obj
        ),
        subject=subject,
        predicate=predicate,
        object=obj,
        session_id=session_id,
        turn=turn,
        sources=tuple(sources),
        created_at=now,
    )


def extract_facts(
    *, session_id: str, turn: int, question: str, answer: Answer, now: float
) -> list[Fact]:
    """The facts one turn teaches, each with its session, turn, sources and time.

    Args:
        session_id: The conversation the turn belongs to.
        turn: The turn's number within the session.
        question: The question as asked.
        answer: The answer given, with its citations and the context it used.
        now: Unix time the turn happened (injected, so tests need no clock).

    Returns:
        Facts in a stable order with stable ids: ``asked``, ``answered``, one ``relied_on``
        per context chunk, ``mentions`` for entities of the question, answer and context,
        and ``related_to`` for entities sharing a sentence of the answer.
    """
    facts: dict[str, Fact] = {}

    def add(subject: str, predicate: str, obj: str, sources: Sequence[SourceRef] = ()) -> None:
        f = _fact(
            session_id=session_id,
            turn=turn,
            subject=subject,
            predicate=predicate,
            obj=obj,
            sources=sources,
            now=now,
        )
        facts.setdefault(f.id, f)

    citations = answer.citations or merge_refs([r for sc in answer.context for r in sc.chunk.refs])
    add(session_id, ASKED, question)
    if answer.text.strip():
        add(question, ANSWERED, answer.text, citations)
    for scored in answer.context:
        add(question, RELIED_ON, scored.chunk.id, scored.chunk.refs)

    for name in extract_entities(question + "\n\n" + answer.text):
        add(question, MENTIONS, name, citations)
    for scored in answer.context:
        for name in extract_entities(scored.chunk.text, limit=MAX_ENTITIES_PER_CHUNK):
            add(scored.chunk.id, MENTIONS, name, scored.chunk.refs)

    pairs = 0
    for sentence in _sentences(answer.text):
        names = extract_entities(sentence)
        for i, left in enumerate(names):
            for right in names[i + 1 :]:
                if pairs >= MAX_RELATIONS:
                    break
                add(left, RELATED_TO, right, citations)
                pairs += 1
    return list(facts.values())
