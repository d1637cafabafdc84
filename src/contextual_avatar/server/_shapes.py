"""An :class:`~contextual_avatar.Answer` as JSON: what both APIs send about a turn.

Citations carry the quoted source text they point at, taken from the context chunks
the answer was written from, so a client can show "guide.pdf p. 2" and, on click, the
words on that page that the answer rests on.
"""

from __future__ import annotations

from typing import Any

from contextual_avatar.types import Answer, ScoredChunk, SourceRef

__all__ = ["MAX_QUOTE_CHARS", "answer_json", "citation_json", "turn_json"]

#: A quote longer than this is cut (with an ellipsis): a citation is not the document.
MAX_QUOTE_CHARS = 1200


def _same_place(a: SourceRef, b: SourceRef) -> bool:
    if a.source != b.source:
        return False
    if b.page is not None:
        return a.page == b.page
    if b.start_s is not None and a.start_s is not None:
        end_b = b.end_s if b.end_s is not None else b.start_s
        end_a = a.end_s if a.end_s is not None else a.start_s
        return a.start_s <= end_b and b.start_s <= end_a
    return True


def quote(ref: SourceRef, context: tuple[ScoredChunk, ...]) -> str:
    """The context text that came from ``ref``'s page or time range."""
    pieces: list[str] = []
    seen: set[str] = set()
    for scored in context:
        chunk = scored.chunk
        for span in chunk.spans:
            if _same_place(span.ref, ref):
                text = " ".join(chunk.text[span.start : span.end].split())
                if text and text not in seen:
                    seen.add(text)
                    pieces.append(text)
    joined = " … ".join(pieces)
    if len(joined) > MAX_QUOTE_CHARS:
        joined = joined[: MAX_QUOTE_CHARS - 1].rstrip() + "…"
    return joined


def citation_json(ref: SourceRef, context: tuple[ScoredChunk, ...]) -> dict[str, Any]:
    """One citation: its label, where it points and the quoted text."""
    return {
        "label": str(ref),
        "source": ref.source,
        "page": ref.page,
        "start_s": ref.start_s,
        "end_s": ref.end_s,
        "speaker": ref.speaker,
        "quote": quote(ref, context),
    }


def turn_json(answer: Answer, *, collection: str) -> dict[str, Any]:
    """How the turn was served: cache, route, cost and stage timings."""
    return {
        "collection": collection,
        "cache_hit": answer.cache_hit,
        "cache_reason": answer.cache.reason,
        "route": {
            "tier": answer.route.tier.value,
            "model": answer.route.model,
            "reason": answer.route.reason,
        },
        "tokens": {"prompt": answer.tokens.prompt, "completion": answer.tokens.completion},
        "cost_usd": answer.cost_usd,
        "saved_usd": answer.saved_usd,
        "timings_ms": {k: round(v, 3) for k, v in answer.timings.items()},
    }


def answer_json(answer: Answer, *, session_id: str, collection: str) -> dict[str, Any]:
    """The native API's answer: text, citations and how the turn was served."""
    return {
        "session_id": session_id,
        "question": answer.question,
        "text": answer.text,
        "citations": [citation_json(r, answer.context) for r in answer.citations],
        **turn_json(answer, collection=collection),
    }
