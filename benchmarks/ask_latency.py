"""Per-stage latency of ``ask`` on embedded defaults (MiniLM, FAISS, memory cache, extractive).

Ingests the sample guide, then replays a short visitor conversation in many sessions and
reports p50/p99 per pipeline stage (understand, recall, enrich, assemble, route, answer,
record), sub-step (embed, cache, search, first token) and in total, for cache hits and misses.
The first ask (model load) is excluded.

    .venv/bin/python benchmarks/ask_latency.py [--sessions 40]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

import contextual_avatar as ca

HERE = Path(__file__).resolve().parent
GUIDE = HERE.parent / "examples" / "data" / "guide.pdf"
CONVERSATION = [
    "How much does an adult ticket cost?",
    "And for children?",
    "Is there a family ticket?",
    "When is the museum open?",
    "Is it open on Mondays?",
    "How do I get there?",
    "Is there a lift to the roof?",
    "What does the café serve?",
]
# The turn's stages in order (see docs/concepts.md), then sub-steps, then the whole turn.
STAGES = ["understand", "recall", "enrich", "assemble", "route", "answer", "record"]
SUB_STEPS = ["embed", "cache", "search", "first_token"]
ALL = [*STAGES, *SUB_STEPS, "total"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=40)
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory() as tmp,
        ca.ContextEngine(ca.EngineConfig(data_dir=Path(tmp))) as engine,
    ):
        engine.ingest(GUIDE)
        engine.ask("warm-up", "warm up the model")
        rows: list[dict[str, float]] = []
        started = time.perf_counter()
        for s in range(args.sessions):
            for question in CONVERSATION:
                answer = engine.ask(f"visitor-{s}", question)
                rows.append({**answer.timings, "hit": float(answer.cache_hit)})
        wall = time.perf_counter() - started

    result: dict[str, object] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d"),
        "turns": len(rows),
        "turns_per_s": len(rows) / wall,
        "hit_rate": float(np.mean([r["hit"] for r in rows])),
    }
    print(
        f"{len(rows)} turns, {result['turns_per_s']:.1f} turns/s, hit rate {result['hit_rate']:.2f}"
    )
    print(f"{'stage':11s} {'kind':5s} {'p50 ms':>8s} {'p99 ms':>8s}")
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
            p50, p99 = float(np.percentile(values, 50)), float(np.percentile(values, 99))
            table[f"{kind}/{stage}"] = {"p50_ms": p50, "p99_ms": p99, "n": len(values)}
            print(f"{stage:11s} {kind:5s} {p50:8.2f} {p99:8.2f}")
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
    ax.set_title("ask latency per stage (embedded defaults)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
