"""Make small real documents and synthetic turns for tests, benchmarks and examples.

``make_pdf`` needs the ``fpdf2`` dev dependency.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from contextual_avatar.errors import MissingDependencyError
from contextual_avatar.types import (
    Answer,
    CacheDecision,
    Chunk,
    RouteDecision,
    ScoredChunk,
    SourceRef,
    Span,
    Tier,
    TokenUsage,
    merge_refs,
)

__all__ = ["make_answer", "make_pdf"]


def make_pdf(path: Path, pages: Sequence[str], *, password: str | None = None) -> Path:
    """Write a PDF with one page per string, each with a real text layer.

    Args:
        path: Where to write it.
        pages: Text of each page; an empty string makes a page with no text layer.
        password: Encrypt the file with this user password (AES-256).

    Returns:
        ``path``.
    """
    try:
        from fpdf import FPDF
    except ImportError as exc:
        raise MissingDependencyError("make_pdf", "dev", "fpdf2") from exc
    pdf = FPDF(format="A4")
    pdf.set_font("helvetica", size=12)
    pdf.set_auto_page_break(auto=False)
    for text in pages:
        pdf.add_page()
        if text:
            pdf.multi_cell(0, 7, text)
    if password is not None:
        from fpdf.enums import EncryptionMethod

        pdf.set_encryption(
            owner_password=password + "-owner",
            user_password=password,
            encryption_method=EncryptionMethod.AES_256,
        )
    pdf.output(str(path))
    return path


def make_answer(
    question: str,
    text: str,
    *,
    session_id: str = "s",
    context: Sequence[tuple[str, SourceRef]] = (),
    score: float = 0.8,
) -> Answer:
    """A synthetic :class:`Answer`, for feeding fact extraction without running an engine.

    Args:
        question: The question asked.
        text: The answer given.
        session_id: The session it belongs to.
        context: ``(chunk text, reference)`` pairs given to the model; chunk ids are
            ``"{source}:{position}"`` and the citations are the merged references.
        score: Similarity of every context chunk (and the route's evidence).

    Returns:
        An answer routed to the small tier, from a cold cache, at no cost.
    """
    chunks = tuple(
        ScoredChunk(
            Chunk(f"{ref.source}:{i}", ref.source, i, chunk, (Span(0, len(chunk), ref),)), score
        )
        for i, (chunk, ref) in enumerate(context)
    )
    return Answer(
        text=text,
        citations=merge_refs([ref for _, ref in context]),
        context=chunks,
        cache_hit=False,
        cache=CacheDecision(False, 0.0, 0.5, "synthetic turn"),
        route=RouteDecision(Tier.SMALL, score, 0.5, "synthetic turn", model="synthetic"),
        tokens=TokenUsage(0, 0),
        cost_usd=0.0,
        timings={},
        session_id=session_id,
        question=question,
    )
