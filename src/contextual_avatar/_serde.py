"""JSON-ready dicts for the shared types, for files, Redis and the graph.

Kept beside :mod:`contextual_avatar.types` so every store writes chunks and references
the same way; keys are short because a Redis cache holds many of them.
"""

from __future__ import annotations

from typing import Any

from contextual_avatar.types import Chunk, SourceRef, Span

__all__ = ["chunk_from_dict", "chunk_to_dict", "ref_from_dict", "ref_to_dict"]


def ref_to_dict(ref: SourceRef) -> dict[str, Any]:
    """A reference as a dict, omitting unset fields."""
    out: dict[str, Any] = {"source": ref.source}
    if ref.page is not None:
        out["page"] = ref.page
    if ref.start_s is not None:
        out["start_s"] = ref.start_s
    if ref.end_s is not None:
        out["end_s"] = ref.end_s
    if ref.speaker is not None:
        out["speaker"] = ref.speaker
    return out


def ref_from_dict(data: dict[str, Any]) -> SourceRef:
    """Inverse of :func:`ref_to_dict`."""
    return SourceRef(
        source=str(data["source"]),
        page=data.get("page"),
        start_s=data.get("start_s"),
        end_s=data.get("end_s"),
        speaker=data.get("speaker"),
    )


def chunk_to_dict(chunk: Chunk) -> dict[str, Any]:
    """A chunk as a dict; spans as ``[start, end, ref]`` triples."""
    return {
        "id": chunk.id,
        "doc": chunk.doc_id,
        "n": chunk.ordinal,
        "text": chunk.text,
        "spans": [[s.start, s.end, ref_to_dict(s.ref)] for s in chunk.spans],
        "off": chunk.offset,
    }


def chunk_from_dict(data: dict[str, Any]) -> Chunk:
    """Inverse of :func:`chunk_to_dict`."""
    return Chunk(
        id=str(data["id"]),
        doc_id=str(data["doc"]),
        ordinal=int(data["n"]),
        text=str(data["text"]),
        spans=tuple(Span(int(a), int(b), ref_from_dict(r)) for a, b, r in data["spans"]),
        offset=int(data.get("off", 0)),
    )
