"""Frozen value types shared by every part of the package.

These are the nouns of the data flow: a loader turns a file into :class:`Segment` s, the
chunker packs them into :class:`Chunk` s that remember where each character came from
(:class:`Span`), retrieval returns :class:`ScoredChunk` s, and an ask ends in an
:class:`Answer` whose citations are :class:`SourceRef` s. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field
from enum import StrEnum
from typing import Literal

__all__ = [
    "KNOWLEDGE_DOC_ID",
    "Answer",
    "CacheDecision",
    "Chunk",
    "Fact",
    "IngestReport",
    "RouteDecision",
    "ScoredChunk",
    "Segment",
    "SourceRef",
    "Span",
    "Tier",
    "TokenUsage",
    "Turn",
    "format_timestamp",
    "merge_refs",
]


#: ``Chunk.doc_id`` of context items that carry shared-knowledge facts, not document text.
KNOWLEDGE_DOC_ID = "knowledge"


def format_timestamp(seconds: float) -> str:
    """Format seconds as ``MM:SS`` (or ``H:MM:SS`` past an hour), as citations show them."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes:02d}:{secs:02d}"


@dataclass(frozen=True, slots=True)
class SourceRef:
    """Where a piece of text came from: a file and a page, or a time range.

    Parameters:
        source: The file's display name (its base name), e.g. ``"guide.pdf"``.
        page: 1-based page number for paged documents, else ``None``.
        start_s: Start time in seconds for transcripts and recordings, else ``None``.
        end_s: End time in seconds for transcripts and recordings, else ``None``.
        speaker: Who spoke, where the source says so.

    Everything after ``source`` is keyword-only: ``SourceRef("talk.mp4", 60.0, 75.5)``
    would read as page 60.
    """

    source: str
    _: KW_ONLY
    page: int | None = None
    start_s: float | None = None
    end_s: float | None = None
    speaker: str | None = None

    def __str__(self) -> str:
        parts = [self.source]
        if self.page is not None:
            parts.append(f"p. {self.page}")
        if self.start_s is not None:
            end = self.end_s if self.end_s is not None else self.start_s
            parts.append(f"{format_timestamp(self.start_s)}-{format_timestamp(end)}")
        if self.speaker:
            parts.append(f"({self.speaker})")
        return " ".join(parts)


def merge_refs(refs: Sequence[SourceRef]) -> tuple[SourceRef, ...]:
    """Collapse references into one per page, and one time range per source and speaker.

    Why: a sentence that runs over three subtitle cues should cite one range, not three.
    Order of first appearance is kept so citations read in document order.
    """
    out: dict[tuple[str, int | None, str | None, bool], SourceRef] = {}
    for ref in refs:
        timed = ref.start_s is not None
        key = (ref.source, ref.page, ref.speaker, timed)
        prev = out.get(key)
        if prev is None or not timed:
            out.setdefault(key, ref)
            continue
        assert prev.start_s is not None
        assert ref.start_s is not None
        out[key] = SourceRef(
            source=ref.source,
            page=ref.page,
            start_s=min(prev.start_s, ref.start_s),
            end_s=max(prev.end_s or prev.start_s, ref.end_s or ref.start_s),
            speaker=ref.speaker,
        )
    return tuple(out.values())


@dataclass(frozen=True, slots=True)
class Segment:
    """A run of text from one place in a source (a page, a subtitle cue, a paragraph)."""

    text: str
    ref: SourceRef


@dataclass(frozen=True, slots=True)
class Span:
    """Characters ``[start, end)`` of a chunk's text that came from ``ref``."""

    start: int
    end: int
    ref: SourceRef


@dataclass(frozen=True, slots=True)
class Chunk:
    """A token window of a document, the unit that is embedded, cached and cited.

    Parameters:
        id: Stable id, ``"{doc_id}:{ordinal}"``; the same file always yields the same ids.
        doc_id: Content hash of the document the chunk came from.
        ordinal: Position of the chunk in its document, from 0.
        text: The chunk's text.
        spans: Which characters came from which page or time range, in order.
        offset: Where the text starts in the whole document's text (pages joined by a
            blank line), so neighbouring chunks can be merged without repeating overlap.
    """

    id: str
    doc_id: str
    ordinal: int
    text: str
    spans: tuple[Span, ...]
    offset: int = 0

    @property
    def refs(self) -> tuple[SourceRef, ...]:
        """Every source reference the chunk touches, merged (see :func:`merge_refs`)."""
        return merge_refs([s.ref for s in self.spans])

    def refs_between(self, start: int, end: int) -> tuple[SourceRef, ...]:
        """References for the characters ``[start, end)`` of this chunk's text."""
        hit = [s.ref for s in self.spans if s.start < end and start < s.end]
        return merge_refs(hit) if hit else self.refs


@dataclass(frozen=True, slots=True)
class ScoredChunk:
    """A chunk with its similarity to a query (cosine, higher is closer)."""

    chunk: Chunk
    score: float


class Tier(StrEnum):
    """Which model tier answers a turn."""

    SMALL = "small"
    LARGE = "large"


@dataclass(frozen=True, slots=True)
class RouteDecision:
    """The router's choice for one turn and why.

    Parameters:
        tier: Small (cheap) or large model.
        score: The evidence score the router compared with its threshold.
        threshold: The threshold in force.
        reason: One line a human can read.
        model: The model name that will answer; ``None`` means "the routed tier's
            responder", filled in by the engine, so a custom router need not know the
            models. Keyword-only.
    """

    tier: Tier
    score: float
    threshold: float
    reason: str
    _: KW_ONLY
    model: str | None = None


@dataclass(frozen=True, slots=True)
class CacheDecision:
    """Whether a turn was served from the session cache, with the evidence.

    Parameters:
        hit: True when the index was not searched.
        score: Best similarity between the query and a cached chunk (0 if empty).
        threshold: The hit threshold in force.
        reason: One line a human can read.
    """

    hit: bool
    score: float
    threshold: float
    reason: str


@dataclass(frozen=True, slots=True)
class TokenUsage:
    """Tokens sent to and received from the model for one turn."""

    prompt: int = 0
    completion: int = 0

    @property
    def total(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt + self.completion


@dataclass(frozen=True, slots=True)
class Answer:
    """The reply to one conversational turn.

    Parameters:
        text: What the avatar says.
        citations: Where the answer came from, most relevant first.
        context: The chunks given to the model, in prompt order.
        cache_hit: True when the session cache answered and the index was not searched.
        cache: The cache's decision with score and threshold.
        route: Which model tier answered and why.
        tokens: Token counts for the turn.
        cost_usd: What the turn cost at the model's list prices.
        timings: Milliseconds per stage of the turn (``understand``, ``recall``, ``enrich``,
            ``assemble``, ``route``, ``answer``, ``record``), per sub-step (``embed``,
            ``cache``, ``search``, ``first_token``) and in ``total``.
        session_id: The session the turn belongs to.
        question: The question as asked.
        saved_usd: What the turn saved against the baseline (the large model with the
            full retrieval top-k every turn), at list prices.
        facts: Shared knowledge used this turn: one ``answered_by`` fact per document
            chunk that other sessions of the collection found (the chunk is in
            ``context``); ``session_id`` is always ``""``. Empty when sharing is off.
    """

    text: str
    citations: tuple[SourceRef, ...]
    context: tuple[ScoredChunk, ...]
    cache_hit: bool
    cache: CacheDecision
    route: RouteDecision
    tokens: TokenUsage
    cost_usd: float
    timings: Mapping[str, float]
    session_id: str
    question: str
    saved_usd: float = 0.0
    facts: tuple[Fact, ...] = ()


@dataclass(frozen=True, slots=True)
class Turn:
    """One question and answer of a session, as conversation state keeps it."""

    question: str
    answer: str
    chunk_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class IngestReport:
    """What an ingest did.

    Parameters:
        path: The file ingested.
        doc_id: Content hash (sha256 hex) of the file.
        kind: The loader that read it (``"pdf"``, ``"text"``, ``"subtitles"``, ``"media"``).
        segments: Pages, cues or paragraphs read.
        chunks: Chunks indexed.
        tokens: Tokens across all chunks (overlap counted once per chunk).
        unchanged: True when the same content was already indexed, so nothing was read or
            embedded (counts are 0); from a new path, that path is recorded as another
            name of the content.
        seconds: Wall time spent.
    """

    path: str
    doc_id: str
    kind: Literal["pdf", "text", "subtitles", "media"]
    segments: int
    chunks: int
    tokens: int
    unchanged: bool
    seconds: float


@dataclass(frozen=True, slots=True)
class Fact:
    """One piece of knowledge learned in a conversation, with provenance.

    Parameters:
        id: Stable id (a hash of the content), so writing it twice has one effect.
        subject: What the fact is about (an entity name, or the session for a Q&A fact).
        predicate: The relation, e.g. ``"asked"``, ``"answered"``, ``"mentions"``.
        object: The other end of the relation (text or an entity name).
        session_id: The session it was learned in.
        turn: The turn number within the session.
        sources: References the fact relied on.
        created_at: Unix time it was learned.
        collection: The knowledge base it was learned in; facts are shared only within
            it (``""``: written before collections existed, never served).
        score: How strongly a served fact matched the asking turn (set by ``related()``;
            0 when written).
    """

    id: str
    subject: str
    predicate: str
    object: str
    session_id: str
    turn: int
    sources: tuple[SourceRef, ...] = field(default=())
    created_at: float = 0.0
    collection: str = ""
    score: float = 0.0
