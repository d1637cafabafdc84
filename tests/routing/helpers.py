"""Context chunks for routing tests."""

from __future__ import annotations

from contextual_avatar.types import Chunk, ScoredChunk, SourceRef, Span


def chunk(
    ordinal: int, text: str, score: float, *, doc: str = "d", page: int | None = None
) -> ScoredChunk:
    ref = SourceRef(f"{doc}.pdf", page=page if page is not None else ordinal + 1)
    return ScoredChunk(
        Chunk(f"{doc}:{ordinal}", doc, ordinal, text, (Span(0, len(text), ref),)), score
    )


def scored(values: list[float]) -> list[ScoredChunk]:
    return [chunk(i, "t", v) for i, v in enumerate(values)]


HARBOUR = [
    chunk(0, "Welcome to the harbour tour. The tour lasts ninety minutes.", 0.41),
    chunk(1, "Our guide today is named Margaret. She has worked here for twelve years.", 0.72),
    chunk(2, "The lighthouse was built in 1874 and restored in 1990.", 0.55),
]
