"""Milvus backend against the FAISS backend on the CoQA dev set: recall and search time.

Run: ``.venv/bin/python benchmarks/milvus_retrieval.py`` after ``benchmarks/retrieval.py``
(or any replay benchmark) has ingested all 300 CoQA passages once: the script reuses that
index (``benchmarks/.cache/replay-*/data/index``, the one with the most documents) and the
question embeddings it cached, so both backends search the *same* chunks with the *same*
query vectors. Only the backend differs:

* ``faiss``: the default hybrid retriever (FAISS + BM25 in process), stateless;
* ``milvus``: :class:`~contextual_avatar.retrieval.MilvusRetriever` over Milvus Lite (a
  real Milvus engine on a local file): dense search and Milvus's own BM25 full-text
  search, fused the same way;
* each also dense-only (no BM25), which isolates the vector engines.

Recall@k: the gold rationale span of a CoQA question lies inside one of the top ``k``
(7, the engine's ``top_k``) chunks of the right passage. Every question with a span is
asked on its own (no conversation state), so the figure is lower than the engine's
conversation-aware recall in ``docs/retrieval.md``. Every question with a span is asked
(4,656 over the 299 cached passages), so one point is about 47 questions; recall over the
first 300 (the earlier measurement's set) is reported beside it. Search time per question
(the query embedding excluded); the 1-minute load average and ``uptime`` are recorded, as
the machine is shared.

Writes ``benchmarks/results/milvus_retrieval.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

_REPO = Path(__file__).resolve().parent.parent
for _path in (_REPO / "src", _REPO):  # run as a script from a checkout
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from benchmarks.replay import CACHE_DIR, DEFAULT_COQA, load_coqa  # noqa: E402
from contextual_avatar.retrieval import (  # noqa: E402
    BM25Index,
    FaissIndex,
    MilvusIndex,
    MilvusRetriever,
    RetrievalConfig,
    build_retriever,
)
from contextual_avatar.retrieval._journal import load_index  # noqa: E402

RESULTS = _REPO / "benchmarks" / "results"
TOP_K = 7
FIRST = 300  # the first questions, the size of the earlier measurement


def biggest_index() -> Path:
    """The cached replay data folder holding the most documents."""
    best = max(
        CACHE_DIR.glob("replay-*/data/index"), key=lambda p: len(FaissIndex.read_records(p)[0])
    )
    return best


def question_vectors(texts: list[str]) -> np.ndarray:
    """Cached MiniLM vectors of the questions (embedded now if missing)."""
    memo: dict[str, np.ndarray] = {}
    for path in CACHE_DIR.glob("emb-*.pkl"):
        with path.open("rb") as fh:
            memo.update(pickle.load(fh))  # our own cache file
    missing = [t for t in texts if t not in memo]
    if missing:
        from contextual_avatar.retrieval import MiniLMEmbedder

        memo.update(zip(missing, MiniLMEmbedder().embed(missing), strict=True))
    return np.asarray([memo[t] for t in texts], np.float32)


def run(
    name: str, retriever: Any, asks: list[tuple[str, np.ndarray, str, int, int]]
) -> dict[str, Any]:
    """Recall@k and search time of ``retriever`` over the questions."""
    hits: list[bool] = []
    times = []
    for text, vector, doc, start, end in asks:
        t = time.perf_counter()
        found = retriever.search([text], vector[None, :], TOP_K)
        times.append((time.perf_counter() - t) * 1000)
        hits.append(
            any(
                sc.chunk.doc_id == doc
                and sc.chunk.offset <= start
                and end <= sc.chunk.offset + len(sc.chunk.text)
                for sc in found
            )
        )
    first = hits[:FIRST]
    row = {
        "backend": name,
        "questions": len(asks),
        f"recall_at_{TOP_K}": round(sum(hits) / len(asks), 4),
        f"recall_at_{TOP_K}_first_{len(first)}": round(sum(first) / len(first), 4),
        "search_p50_ms": round(float(np.percentile(times, 50)), 2),
        "search_p99_ms": round(float(np.percentile(times, 99)), 2),
        "load_1m": round(os.getloadavg()[0], 2),
    }
    print(row)
    return row


def main() -> None:
    """Load the cached CoQA index, fill Milvus Lite from it, ask every question on both."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--coqa", type=Path, default=DEFAULT_COQA)
    parser.add_argument("--questions", type=int, default=0, help="0: all with a gold span")
    parser.add_argument("--out", type=Path, default=RESULTS / "milvus_retrieval.json")
    args = parser.parse_args()
    folder = biggest_index()
    records, embedder = FaissIndex.read_records(folder)
    index = load_index(folder, dim=384, embedder=embedder)
    print(f"{len(records)} documents, {len(index)} chunks from {folder}")
    doc_of = {Path(r.name).stem: r.doc_id for r in records}
    asks_raw = [
        (qa.question, doc_of[story.id], qa.span_start, qa.span_end)
        for story in load_coqa(args.coqa)
        if story.id in doc_of
        for qa in story.turns
        if qa.span_start >= 0
    ]
    if args.questions:
        asks_raw = asks_raw[: args.questions]
    vectors = question_vectors([a[0] for a in asks_raw])
    asks = [(q, v, d, s, e) for (q, d, s, e), v in zip(asks_raw, vectors, strict=True)]
    lexical = BM25Index()
    lexical.rebuild(index.chunks)
    stateless = RetrievalConfig(conversation=False)
    with tempfile.TemporaryDirectory() as tmp:
        milvus = MilvusIndex(str(Path(tmp) / "bench.db"), dim=384)
        started = time.perf_counter()
        milvus.add(index.chunks, index.vectors_for([c.id for c in index.chunks]))
        load_s = time.perf_counter() - started
        rows = [
            run("faiss hybrid", build_retriever(stateless, index, lexical), asks),
            run("milvus hybrid", MilvusRetriever(milvus), asks),
            run(
                "faiss dense",
                build_retriever(stateless.model_copy(update={"mode": "dense"}), index, None),
                asks,
            ),
            run("milvus dense", MilvusRetriever(milvus, lexical_weight=0.0), asks),
        ]
        milvus.close()
    out = {
        "documents": len(records),
        "chunks": len(index),
        "milvus_load_s": round(load_s, 1),
        "top_k": TOP_K,
        "rows": rows,
        "gap_points": {
            mode: round(
                100 * (rows[i][f"recall_at_{TOP_K}"] - rows[i + 1][f"recall_at_{TOP_K}"]), 2
            )
            for i, mode in ((0, "hybrid"), (2, "dense"))
        },
        f"gap_points_first_{min(FIRST, len(asks))}": {
            mode: round(100 * (rows[i][first] - rows[i + 1][first]), 2)
            for first in [f"recall_at_{TOP_K}_first_{min(FIRST, len(asks))}"]
            for i, mode in ((0, "hybrid"), (2, "dense"))
        },
        "uptime": subprocess.run(
            ["uptime"], capture_output=True, text=True, check=False
        ).stdout.strip(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n", "utf-8")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
