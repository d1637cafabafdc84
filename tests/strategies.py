"""Hypothesis strategies shared across test files."""

from __future__ import annotations

from hypothesis import strategies as st

from contextual_avatar.types import Segment, SourceRef

# Text with the characters that break naive code: CJK, emoji, combining marks, RTL,
# zero-width joiners, punctuation, newlines.
_ALPHABET = st.characters(
    codec="utf-8",
    categories=("L", "M", "N", "P", "S", "Zs"),
) | st.sampled_from(["\n", " ", ".", "?", "\u200b", "\u200f", "\u200d", "é", "中", "👩", "🔬"])

texts = st.text(alphabet=_ALPHABET, min_size=1, max_size=400).filter(lambda t: t.strip() != "")


@st.composite
def paged_segments(draw: st.DrawFn) -> list[Segment]:
    """Segments as a PDF loader makes them: one per page, pages numbered from 1."""
    pages = draw(st.lists(texts, min_size=1, max_size=6))
    return [
        Segment(text=t.strip(), ref=SourceRef("doc.pdf", page=i))
        for i, t in enumerate(pages, start=1)
        if t.strip()
    ]


@st.composite
def timed_segments(draw: st.DrawFn) -> list[Segment]:
    """Segments as a transcript loader makes them: consecutive time ranges."""
    cues = draw(st.lists(texts, min_size=1, max_size=8))
    out, t = [], 0.0
    for text in cues:
        length = draw(st.floats(min_value=0.1, max_value=30, allow_nan=False))
        out.append(
            Segment(text=text.strip(), ref=SourceRef("talk.vtt", start_s=t, end_s=t + length))
        )
        t += length
    return [s for s in out if s.text]
