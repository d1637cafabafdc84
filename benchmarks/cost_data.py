"""Data sets for the cost benchmark: CoQA as shipped, and a long-document set built from it.

Why a long-document set: chunk size and top-k only matter when a document does not fit
in one chunk, and a CoQA passage (about 1,600 characters) fits whole in LangChain's
4,000-character default chunk. No registry package reachable here ships SQuAD's training
set (``squaddata`` on PyPI is a report tool without data; SQuAD's dev set is left alone),
so the long documents are **concatenated same-source CoQA stories**: ``group``
consecutive stories of one source (Wikipedia, CNN or Gutenberg) joined into one document
of about 12,000 characters (2,600 tokens). Each document keeps one of its members'
conversations (member ``i mod group`` for the ``i``-th document, so the answers lie at
every depth of the document), with the gold spans shifted to the joined text. The file is
written in CoQA's format, so :class:`benchmarks.replay.Replay` reads it like CoQA.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from benchmarks.replay import CACHE_DIR, DEFAULT_COQA, _read_json

SEPARATOR = "\n\n"


def long_documents(coqa: Path = DEFAULT_COQA, *, group: int = 8) -> Path:
    """Write (once) and return the long-document set built from ``coqa``."""
    data = _read_json(coqa)
    digest = hashlib.sha256(f"{coqa.resolve()}:{group}:v1".encode()).hexdigest()[:12]
    out = CACHE_DIR / f"coqa-long-{digest}.json"
    if out.exists():
        return out
    by_source: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in data["data"]:
        by_source[item.get("source", "")].append(item)
    per_source: list[list[dict[str, Any]]] = []
    for source, items in sorted(by_source.items()):
        merged: list[dict[str, Any]] = []
        per_source.append(merged)
        for first in range(0, len(items) - group + 1, group):
            members = items[first : first + group]
            keep = (first // group) % group
            offsets, pos = [], 0
            for m in members:
                offsets.append(pos)
                pos += len(m["story"]) + len(SEPARATOR)
            story = SEPARATOR.join(m["story"] for m in members)
            chosen, shift = members[keep], offsets[keep]
            answers = []
            for a in chosen["answers"]:
                a = dict(a)
                for key in ("span_start", "span_end"):
                    if int(a.get(key, -1)) >= 0:
                        a[key] = int(a[key]) + shift
                answers.append(a)
            merged.append(
                {
                    "id": f"long-{source}-{first // group:02d}",
                    "source": source,
                    "story": story,
                    "questions": chosen["questions"],
                    "answers": answers,
                    "members": [m["id"] for m in members],
                    "asked_member": keep,
                }
            )
    # Sources interleaved, so the first n documents mix Wikipedia, news and fiction.
    docs = [d for row in zip(*per_source, strict=False) for d in row]
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps({"version": "long-from-coqa", "data": docs}))
    tmp.replace(out)
    return out
