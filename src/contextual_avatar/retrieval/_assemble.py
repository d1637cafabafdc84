"""Context assembly: ranked chunks into the few pieces of text a small model is given.

Walks the ranking best first and keeps a chunk when it fits the token budget; a chunk
next to one already kept is merged with it (the overlap the chunker repeats is not
paid twice, and an answer cut by a chunk boundary becomes whole); a chunk whose text is
nearly all inside a kept piece (the same passage ingested twice, an overlap) is dropped.

Citations stay exact: a merged piece's text is its document's text from the first
chunk's offset to the last chunk's end, and its spans are the chunks' spans shifted to
that text, so every character still maps to the page or time range it came from.
A merged piece has the id ``"{doc_id}:{first}-{last}"``
(see :func:`~contextual_avatar._text.merged_chunk_id`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from contextual_avatar._text import chunk_range, merged_chunk_id, words
from contextual_avatar.types import Chunk, ScoredChunk, Span

__all__ = ["DEFAULT_CONTEXT_TOKENS", "assemble_context", "merge_chunks"]

DEFAULT_CONTEXT_TOKENS = 500
DEFAULT_DUPLICATE_CONTAINMENT = 0.9

TokenCounter = Callable[[str], int]


@dataclass(slots=True)
class _Piece:
    chunk: Chunk
    first: int
    last: int
    score: float
    tokens: int
    shingles: frozenset[tuple[str, ...]]


def merge_chunks(a: Chunk, b: Chunk) -> Chunk | None:
    """One chunk covering two touching or overlapping chunks of a document, or ``None``.

    ``None`` when they belong to different documents, leave a gap, or their overlap does
    not hold the same text (they cannot come from one document text).
    """
    if a.doc_id != b.doc_id:
        return None
    if b.offset < a.offset:
        a, b = b, a
    a_end, b_end = a.offset + len(a.text), b.offset + len(b.text)
    if b.offset > a_end:
        return None
    shared = a_end - b.offset
    if a.text[b.offset - a.offset :] != b.text[: min(shared, len(b.text))]:
        return None
    if b_end <= a_end:
        return a
    shift = b.offset - a.offset
    spans = list(a.spans)
    for s in b.spans:
        start, end = max(s.start + shift, len(a.text)), s.end + shift
        if start >= end:
            continue
        prev = spans[-1] if spans else None
        if prev is not None and prev.ref == s.ref and prev.end == start:
            spans[-1] = Span(prev.start, end, s.ref)
        else:
            spans.append(Span(start, end, s.ref))
    first = min(_ordinals(a)[0], _ordinals(b)[0])
    last = max(_ordinals(a)[1], _ordinals(b)[1])
    try:
        merged_id = merged_chunk_id(a.doc_id, first, last)
    except ValueError:  # no readable id (no doc id, negative ordinal): keep them apart
        return None
    return Chunk(
        id=merged_id,
        doc_id=a.doc_id,
        ordinal=first,
        text=a.text + b.text[shared:],
        spans=tuple(spans),
        offset=a.offset,
    )


def assemble_context(
    ranked: Sequence[ScoredChunk],
    *,
    budget_tokens: int = DEFAULT_CONTEXT_TOKENS,
    count_tokens: TokenCounter,
    duplicate_containment: float = DEFAULT_DUPLICATE_CONTAINMENT,
) -> list[ScoredChunk]:
    """Pack ranked chunks into at most ``budget_tokens`` tokens of context.

    Args:
        ranked: Chunks, best first.
        budget_tokens: The most tokens the pieces' texts may hold together.
        count_tokens: Counts the tokens of a text (the model's tokenizer).
        duplicate_containment: A chunk is dropped when this share of its word trigrams
            is already in one kept piece.

    Returns:
        Pieces in the order their best chunk was ranked, each scored by its best chunk;
        the sum of ``count_tokens(piece.chunk.text)`` never exceeds ``budget_tokens``.
        When not even the best chunk fits, it is cut to the budget.
    """
    pieces: list[_Piece] = []
    total = 0
    for sc in ranked:
        chunk = sc.chunk
        first, last = _ordinals(chunk)
        if any(
            p.chunk.doc_id == chunk.doc_id and p.first <= first and last <= p.last for p in pieces
        ):
            continue
        shingles = _shingles(chunk.text)
        if shingles and any(
            len(shingles & p.shingles) >= duplicate_containment * len(shingles) for p in pieces
        ):
            continue
        merged = False
        for i, p in enumerate(pieces):
            joined = merge_chunks(p.chunk, chunk)
            if joined is None:
                continue
            tokens = count_tokens(joined.text)
            if total - p.tokens + tokens <= budget_tokens:
                total += tokens - p.tokens
                lo, hi = _ordinals(joined)
                pieces[i] = _Piece(
                    joined, lo, hi, max(p.score, sc.score), tokens, p.shingles | shingles
                )
                total = _absorb_neighbours(pieces, i, total, budget_tokens, count_tokens)
                merged = True
            break
        if merged:
            continue
        tokens = count_tokens(chunk.text)
        if total + tokens <= budget_tokens:
            pieces.append(_Piece(chunk, first, last, sc.score, tokens, shingles))
            total += tokens
    if not pieces and ranked and budget_tokens > 0:
        cut = _truncate(ranked[0].chunk, budget_tokens, count_tokens)
        if cut is not None:
            return [ScoredChunk(cut, ranked[0].score)]
    return [ScoredChunk(p.chunk, p.score) for p in pieces]


def _absorb_neighbours(
    pieces: list[_Piece], i: int, total: int, budget: int, count_tokens: TokenCounter
) -> int:
    """Merge piece ``i`` with any other piece it now touches, while the budget allows."""
    j = 0
    while j < len(pieces):
        if j == i:
            j += 1
            continue
        joined = merge_chunks(pieces[i].chunk, pieces[j].chunk)
        if joined is None:
            j += 1
            continue
        tokens = count_tokens(joined.text)
        new_total = total - pieces[i].tokens - pieces[j].tokens + tokens
        if new_total > budget:
            j += 1
            continue
        lo, hi = _ordinals(joined)
        keep, drop = (i, j) if i < j else (j, i)
        pieces[keep] = _Piece(
            joined,
            lo,
            hi,
            max(pieces[i].score, pieces[j].score),
            tokens,
            pieces[i].shingles | pieces[j].shingles,
        )
        del pieces[drop]
        total, i, j = new_total, keep, 0
    return total


def _truncate(chunk: Chunk, budget: int, count_tokens: TokenCounter) -> Chunk | None:
    """The longest prefix of ``chunk`` within ``budget`` tokens, spans clipped."""
    lo, hi = 0, len(chunk.text)
    while lo < hi:  # largest prefix length whose count fits
        mid = (lo + hi + 1) // 2
        if count_tokens(chunk.text[:mid]) <= budget:
            lo = mid
        else:
            hi = mid - 1
    if lo == 0:
        return None
    spans = tuple(Span(s.start, min(s.end, lo), s.ref) for s in chunk.spans if s.start < lo)
    return Chunk(chunk.id, chunk.doc_id, chunk.ordinal, chunk.text[:lo], spans, chunk.offset)


def _ordinals(chunk: Chunk) -> tuple[int, int]:
    try:
        _, first, last = chunk_range(chunk.id)
    except ValueError:
        return chunk.ordinal, chunk.ordinal
    return first, last


def _shingles(text: str) -> frozenset[tuple[str, ...]]:
    ws = words(text)
    if len(ws) < 3:
        return frozenset([tuple(ws)]) if ws else frozenset()
    return frozenset(zip(ws, ws[1:], ws[2:], strict=False))
