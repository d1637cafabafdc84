"""Cut a document's segments into overlapping token windows that remember their sources.

The segments are joined into one text (pages with a blank line between them), encoded
once with tiktoken, and cut into windows of at most ``chunk_tokens``. A window ends at
the last sentence boundary in its second half when there is one, and the next window
starts at the first sentence boundary within ``overlap_tokens`` before that end (else
exactly ``overlap_tokens`` before it), so chunks hold whole sentences where sentences
allow. Every character of the document lands in at least one chunk, and each chunk
records which of its characters came from which page or time range, so a quoted
sentence can cite exactly where it was said.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

from contextual_avatar._text import chunk_id, sentence_boundaries
from contextual_avatar.ingest._config import ChunkingConfig
from contextual_avatar.ingest._tokens import get_encoding
from contextual_avatar.types import Chunk, Segment, Span

__all__ = ["chunk_segments", "join_segments"]

SEPARATOR = "\n\n"


@dataclass(frozen=True, slots=True)
class _Placed:
    start: int
    end: int
    segment: Segment


def join_segments(segments: Sequence[Segment]) -> tuple[str, list[_Placed]]:
    """Join segment texts with a blank line and record where each one landed."""
    parts: list[str] = []
    placed: list[_Placed] = []
    pos = 0
    for seg in segments:
        if not seg.text:
            continue
        if parts:
            parts.append(SEPARATOR)
            pos += len(SEPARATOR)
        parts.append(seg.text)
        placed.append(_Placed(pos, pos + len(seg.text), seg))
        pos += len(seg.text)
    return "".join(parts), placed


def chunk_segments(
    segments: Sequence[Segment], *, doc_id: str, config: ChunkingConfig
) -> list[Chunk]:
    """Cut segments into token windows.

    Args:
        segments: The document's segments in reading order.
        doc_id: Content hash of the document; chunk ids are ``{doc_id}:{ordinal}``.
        config: Window and overlap sizes and the tiktoken encoding.

    Returns:
        Chunks in document order; empty when the segments hold no text.
    """
    text, placed = join_segments(segments)
    if not text:
        return []
    enc = get_encoding(config.encoding)
    tokens = enc.encode(text, disallowed_special=())
    starts = _token_char_starts(enc.decode_with_offsets(tokens)[1], len(text))
    clean = _clean_tokens(text, [len(t) for t in enc.decode_tokens_bytes(tokens)])
    boundaries = [i for i in _boundary_tokens(text, starts) if clean[i]]
    size, overlap = config.chunk_tokens, config.overlap_tokens
    chunks: list[Chunk] = []
    first = 0
    while True:
        last = min(first + size, len(tokens))
        if last < len(tokens):
            last = _last_boundary(boundaries, first + size // 2, last) or last
            last = _snap(clean, last, first)
        c_start, c_end = starts[first], starts[last]
        if c_end > c_start:
            chunks.append(_make_chunk(text, placed, c_start, c_end, doc_id, len(chunks)))
        if last >= len(tokens):
            break
        nxt = _first_boundary(boundaries, last - overlap, last)
        first = max(first + 1, nxt if nxt is not None else last - overlap)
        first = _snap(clean, first, first - 1)
    return chunks


def _clean_tokens(text: str, token_bytes: list[int]) -> list[bool]:
    """For each token index (and the end), whether it starts on a character boundary.

    A rare character can be split over several byte-level tokens; cutting a window there
    would give a chunk whose text re-encodes to more tokens than counted.
    """
    data = text.encode("utf-8")
    out = []
    pos = 0
    for length in [*token_bytes, 0]:
        out.append(pos >= len(data) or (data[pos] & 0xC0) != 0x80)
        pos += length
    return out


def _snap(clean: list[bool], index: int, floor: int) -> int:
    """Move ``index`` down to a clean token above ``floor``, else up to the next clean one."""
    down = index
    while down > floor + 1 and not clean[down]:
        down -= 1
    if clean[down] and down > floor:
        return down
    while not clean[index]:
        index += 1
    return index


def _boundary_tokens(text: str, starts: list[int]) -> list[int]:
    """Sorted indices of tokens that begin right after a sentence boundary."""
    token_at = {pos: i for i, pos in reversed(list(enumerate(starts)))}
    out = {token_at[b] for b in sentence_boundaries(text) if b in token_at}
    return sorted(out)


def _last_boundary(boundaries: list[int], lo: int, hi: int) -> int | None:
    """The largest boundary token index in ``[lo, hi]``."""
    i = bisect.bisect_right(boundaries, hi) - 1
    return boundaries[i] if i >= 0 and boundaries[i] >= lo else None


def _first_boundary(boundaries: list[int], lo: int, hi: int) -> int | None:
    """The smallest boundary token index in ``[lo, hi]``."""
    i = bisect.bisect_left(boundaries, lo)
    return boundaries[i] if i < len(boundaries) and boundaries[i] <= hi else None


def _token_char_starts(offsets: list[int], text_len: int) -> list[int]:
    """Character offset where each token starts, plus the end of the text.

    A token that begins inside a multi-byte character shares that character's offset,
    so offsets never decrease and windows never split a character.
    """
    out = [*offsets, text_len]
    for i in range(1, len(out)):
        out[i] = max(out[i], out[i - 1])
    return out


def _make_chunk(
    text: str, placed: Sequence[_Placed], start: int, end: int, doc_id: str, ordinal: int
) -> Chunk:
    spans = tuple(
        Span(max(p.start, start) - start, min(p.end, end) - start, p.segment.ref)
        for p in placed
        if p.start < end and start < p.end
    )
    return Chunk(
        id=chunk_id(doc_id, ordinal),
        doc_id=doc_id,
        ordinal=ordinal,
        text=text[start:end],
        spans=spans,
        offset=start,
    )
