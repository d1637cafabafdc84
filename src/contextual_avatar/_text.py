r"""The one text analyser: words, terms, names, sentences and chunk ids, shared by every layer.

The cache's hit rule, the hybrid retriever (BM25 and the conversation state), the
extractive answerer and the fact extractor must agree on what a term is, where a
sentence ends and how a chunk id reads; otherwise a question the retriever matches
is a "missing term" to the cache, or an answer quotes half a sentence. So they all
take these definitions from here:

- :func:`terms`: lower-cased ``\w+`` words, one-letter words and :data:`STOP_WORDS`
  dropped, each stemmed once by :func:`stem` (so "tickets" matches "ticket"). BM25 is
  built on it, so changing it changes retrieval recall and cache hit rate: run
  ``benchmarks/retrieval.py`` and ``benchmarks/cache_hit_rate.py`` first.
- :func:`entities`: capitalised words that name something, carried from turn to turn.
- :func:`sentence_boundaries` / :func:`split_sentences`: PDF text breaks lines
  mid-sentence, so a single line break only ends a sentence after a short line (a
  heading, a list item); a blank line always does, and so does terminal punctuation
  followed by whitespace.
- chunk ids: ``"{doc_id}:{ordinal}"`` for a chunk, ``"{doc_id}:{first}-{last}"`` for
  context pieces merged from neighbours. The ordinal is read after the *last* colon,
  so document ids may contain colons.
"""

from __future__ import annotations

import itertools
import re

__all__ = [
    "FACT_STOP_WORDS",
    "STOP_WORDS",
    "chunk_id",
    "chunk_range",
    "document_of",
    "entities",
    "merged_chunk_id",
    "sentence_boundaries",
    "split_chunk_id",
    "split_sentences",
    "stem",
    "terms",
    "words",
]

_WORD = re.compile(r"\w+")
_CAPITALISED = re.compile(r"\b[A-Z][\w'-]*[a-z][\w'-]*\b")

STOP_WORDS = frozenset(
    """
    a an and are as at be but by can could did do does done for from had has have he her
    hers him his how i if in into is it its me my no not of on or our she so than that the
    their them then there these they this to was we were what when where which who whom why
    will with would you your about after also any been being both each more most other some
    such only own same just am say said says tell told get got yes
    """.split()
)

# The fact extractor reads whole conversational turns ("Could you please tell me..."),
# where these words would otherwise become lookup keys or lead a capitalised phrase
# ("Please", "Okay"). They stay out of STOP_WORDS so BM25 terms do not change.
# Contractions appear whole because the extractor's words keep inner apostrophes.
FACT_STOP_WORDS = STOP_WORDS | frozenset(
    """
    above again against all because before below between doing down during few further
    having here herself himself itself let myself nor now off once ours ourselves out over
    should theirs themselves those through too under until up upon very while yours
    yourself yourselves please know thing things much many well okay ok like make made may
    might must shall one two it's i'm don't can't won't isn't
    """.split()
)


def words(text: str) -> list[str]:
    r"""Lower-cased ``\w+`` words of ``text``, nothing dropped (the common tokenisation)."""
    return _WORD.findall(text.lower())


def stem(word: str) -> str:
    """Strip one common English suffix when at least three letters remain."""
    for suffix in ("ing", "ies", "es", "s", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def terms(text: str) -> list[str]:
    """Index terms of ``text``: lower-cased, stop words and one-letter words dropped, stemmed."""
    return [stem(w) for w in words(text) if len(w) > 1 and w not in STOP_WORDS]


def entities(text: str) -> list[str]:
    """Capitalised words that name something ("Duane", "Euchre"), in order, without repeats.

    A capitalised stop word ("The", "What") is not an entity; a word capitalised only
    because it starts the text is kept only if it is not a stop word either.
    """
    seen: dict[str, None] = {}
    for match in _CAPITALISED.finditer(text):
        word = match.group(0)
        if word.lower() not in STOP_WORDS:
            seen.setdefault(word, None)
    return list(seen)


_PUNCT = re.compile(r"[.!?…。！？][\"'”’)\]]*(?=\s)")
_NEWLINE = re.compile(r"\n")
_HAS_WORD = re.compile(r"\w")
#: A line shorter than this (a heading, a list item) ends its sentence at its line break.
SHORT_LINE = 50


def sentence_boundaries(text: str) -> list[int]:
    """Sorted character offsets where a new sentence may start (excluding 0 and the end)."""
    out = {m.end() for m in _PUNCT.finditer(text)}
    for m in _NEWLINE.finditer(text):
        line_start = text.rfind("\n", 0, m.start()) + 1
        line = text[line_start : m.start()].strip()
        if len(line) < SHORT_LINE or text.startswith("\n", m.end()):
            out.add(m.start())
    return sorted(b for b in out if 0 < b < len(text))


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Character ranges ``[start, end)`` of the sentences in ``text``, whitespace trimmed.

    Pieces without a word character (a lone bullet, "...") are not sentences.
    """
    out: list[tuple[int, int]] = []
    cuts = [0, *sentence_boundaries(text), len(text)]
    for a, b in itertools.pairwise(cuts):
        piece = text[a:b]
        start = a + len(piece) - len(piece.lstrip())
        stop = a + len(piece.rstrip())
        if stop > start and _HAS_WORD.search(text, start, stop):
            out.append((start, stop))
    return out


_ORDINALS = re.compile(r"([0-9]+)(?:-([0-9]+))?")


def chunk_id(doc_id: str, ordinal: int) -> str:
    """The id of chunk ``ordinal`` of a document: ``"{doc_id}:{ordinal}"``.

    Raises:
        ValueError: ``doc_id`` is empty or ``ordinal`` negative (the id could not be
            read back).
    """
    return merged_chunk_id(doc_id, ordinal, ordinal)


def merged_chunk_id(doc_id: str, first: int, last: int) -> str:
    """The id of a piece merged from chunks ``first..last``: ``"{doc_id}:{first}-{last}"``.

    A single chunk (``first == last``) keeps its own id, so a merge of one is no merge.

    Raises:
        ValueError: ``doc_id`` is empty, ``first`` negative or ``last < first``.
    """
    if not doc_id or first < 0 or last < first:
        raise ValueError(f"no chunk id for doc {doc_id!r}, ordinals {first}..{last}")
    return f"{doc_id}:{first}" if last == first else f"{doc_id}:{first}-{last}"


def chunk_range(chunk_id: str) -> tuple[str, int, int]:
    """``(doc_id, first, last)`` of a chunk id ``"doc:7"`` or a merged id ``"doc:7-9"``.

    Raises:
        ValueError: ``chunk_id`` is not a chunk id (no document, no ordinal, or
            ordinals that are not ``N`` or ``N-M`` with ``N <= M``).
    """
    doc_id, _, ordinals = chunk_id.rpartition(":")
    found = _ORDINALS.fullmatch(ordinals)
    if not doc_id or found is None:
        raise ValueError(f"not a chunk id: {chunk_id!r} (expected 'doc:N' or 'doc:N-M')")
    first = int(found.group(1))
    last = int(found.group(2) or first)
    if last < first:
        raise ValueError(f"not a chunk id: {chunk_id!r} (last ordinal before first)")
    return doc_id, first, last


def split_chunk_id(chunk_id: str) -> tuple[str, int]:
    """``(doc_id, ordinal)`` of a single chunk's id ``"doc:7"``; the inverse of :func:`chunk_id`.

    Raises:
        ValueError: ``chunk_id`` is not a single chunk's id (a merged ``"doc:7-9"``
            names several: read it with :func:`chunk_range`).
    """
    doc_id, first, last = chunk_range(chunk_id)
    if last != first:
        raise ValueError(f"not a single chunk id: {chunk_id!r} (merged; use chunk_range)")
    if chunk_id != f"{doc_id}:{first}":  # "doc:07" or "doc:7-7" would not round-trip
        raise ValueError(f"not a chunk id: {chunk_id!r} (expected 'doc:N')")
    return doc_id, first


def document_of(key: str) -> str:
    """The document of a chunk id (single or merged); any other key is its own document.

    Lenient on purpose: cache policies group arbitrary keys with it and must not fail.
    """
    return key.rpartition(":")[0] or key
