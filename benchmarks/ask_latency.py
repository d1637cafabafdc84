"""Per-stage latency of ``ask`` on embedded defaults, on real CoQA passages, one turn at a time.

Ingests the first 30 CoQA dev passages (``../shared/data/coqa-dev.json``: real
documents, not the two-page sample guide, whose contexts are tiny), then replays their
conversations, one session per passage and one turn at a time, through the default
engine (ONNX MiniLM unless ``--runtime torch``, FAISS + BM25, memory cache, the offline
extractive answerer). Reports p50/p99 per pipeline stage (understand, recall, enrich,
assemble, route, answer, record), sub-step (embed, cache, search, first token) and in
total, for cache hits and misses; the first ask (model load) is excluded. The machine's
load average is recorded with the figures.

    .venv/bin/python benchmarks/ask_latency.py [--docs 30] [--turns 300] [--runtime onnx]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import contextual_avatar as ca

HERE = Path(__file__).resolve().parent
COQA = HERE.parent.parent / "shared" / "data" / "coqa-dev.json"
# The turn's stages in order (see docs/concepts.md), then sub-steps, then the whole turn.
STAGES = ["understand", "recall", "enrich", "assemble", "route", "answer", "record"]
SUB_STEPS = ["embed", "cache", "search", "first_token"]
ALL = [*STAGES, *SUB_STEPS, "total"]


def _stories(path: Path, docs: int) -> list[dict[str, object]]:
    return list(json.loads(path.read_text(encoding="utf-8"))["data"][:docs])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=30)
    parser.add_argument("--turns", type=int, default=300)
    parser.add_argument("--runtime", choices=["auto", "onnx", "torch"], default="auto")
    parser.add_argument("--coqa", type=Path, default=COQA)
    args = parser.parse_args()

    stories = _stories(args.coqa, args.docs)
    conversation = [
        (str(s["id"]), str(q["input_text"]))
        for s in stories
        for q in s["questions"]  # type: ignore[attr-defined]
    ]
    # Interleave nothing: each passage's conversation in order, passage after passage.
    conversation = conversation[: args.turns]
    loads = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory() as tmp:
        config = ca.EngineConfig(data_dir=Path(tmp) / "data", embedder={"runtime": args.runtime})
        docs = Path(tmp) / "docs"
        docs.mkdir()
        with ca.ContextEngine(config) as engine:
            for s in stories:
                path = docs / f"{s['id']}.txt"
                path.write_text(str(s["story"]), encoding="utf-8")
                engine.ingest(path)
            engine.ask("warm-up", "warm up the model")
            rows: list[dict[str, float]] = []
            started = time.perf_counter()
            for i, (story, question) in enumerate(conversation):
                answer = engine.ask(f"reader-{story}", question)
                rows.append({**answer.timings, "hit": float(answer.cache_hit)})
                if i % 100 == 99:
                    loads.append(os.getloadavg()[0])
            wall = time.perf_counter() - started
            runtime = type(engine.parts.embedder).__name__
        torch_loaded = "torch" in sys.modules

    result: dict[str, object] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d"),
        "command": "python benchmarks/ask_latency.py " + " ".join(sys.argv[1:]),
        "documents": len(stories),
        "embedder": runtime,
        "torch_imported": torch_loaded,
        "load_avg_1m": [round(x, 2) for x in loads],
        "turns": len(rows),
        "turns_per_s": len(rows) / wall,
        "hit_rate": float(np.mean([r["hit"] for r in rows])),
    }
    print(
        f"{len(rows)} turns on {len(stories)} CoQA passages ({runtime}), "
        f"{result['turns_per_s']:.1f} turns/s one at a time, hit rate {result['hit_rate']:.2f}, "
        f"load {', '.join(f'{x:.1f}' for x in loads)}"
    )
    print(f"{'stage':11s} {'kind':5s} {'p50 ms':>8s} {'p90 ms':>8s} {'p99 ms':>8s}")
    table = {}
    for kind, keep in (
        ("all", lambda r: True),
        ("hit", lambda r: r["hit"] == 1),
        ("miss", lambda r: r["hit"] == 0),
    ):
        subset = [r for r in rows if keep(r)]
        for stage in ALL:
            values = np.array([r[stage] for r in subset if stage in r])
            if not len(values):
                continue
            p50, p90, p99 = (float(np.percentile(values, q)) for q in (50, 90, 99))
            table[f"{kind}/{stage}"] = {
                "p50_ms": p50,
                "p90_ms": p90,
                "p99_ms": p99,
                "n": len(values),
            }
            print(f"{stage:11s} {kind:5s} {p50:8.2f} {p90:8.2f} {p99:8.2f}")
    result["stages"] = table
    out = HERE / "results" / "ask_latency.json"
    out.write_text(json.dumps(result, indent=2))
    plot(table, HERE / "results" / "ask_latency.png")
    print(f"wrote {out} and ask_latency.png")


def plot(table: dict[str, dict[str, float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [*STAGES, "total"]
    fig, ax = plt.subplots(figsize=(9, 3.5))
    x = np.arange(len(shown))
    for i, kind in enumerate(("hit", "miss")):
        p50 = [table[f"{kind}/{s}"]["p50_ms"] for s in shown]
        p99 = [table[f"{kind}/{s}"]["p99_ms"] for s in shown]
        ax.bar(x + (i - 0.5) * 0.38, p50, 0.38, label=f"cache {kind} p50")
        ax.scatter(
            x + (i - 0.5) * 0.38, p99, marker="_", s=200, color="black", label="p99" if i else None
        )
    ax.set_xticks(x, shown)
    ax.set_ylabel("ms")
    ax.set_title("ask latency per stage (embedded defaults, CoQA passages)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
