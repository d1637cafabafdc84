"""Chunk-cache benchmark on real CoQA conversations: oracle traces, served hits, overhead.

Run: ``.venv/bin/python benchmarks/cache_hit_rate.py`` (a few minutes on 2 cores; the
first run ingests the 300 passages, about 2 minutes, then it is cached).
Options: ``--conversations N`` (served replays, default 60), ``--coqa PATH``.

Measures, per scenario (single conversation / meeting of three interleaved ones):
  * oracle-trace hit rate, capacities 1-10: the share of turns whose *needed* chunk
    (the one holding the gold span) is already cached, for none / FIFO / LRU / LFU /
    hybrid / Belady (demand-paging optimum) / infinite cache, and hybrid with
    next-chunk prefetch (not demand paging, so it may pass Belady);
  * served hit rate (turns with no index call), context recall (gold span inside the
    context given to the answerer) and false hits (hits whose context lacks the gold
    span) through the public API, against stateless full retrieval;
  * ``ChunkCache.lookup`` overhead p50/p99 (embedding excluded), memory and Redis.

Writes ``benchmarks/results/cache_hit_rate.json`` and ``cache_hit_rate.png``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from benchmarks.replay import DEFAULT_COQA, SCENARIOS, Replay, TurnRecord, _interval, covered
from contextual_avatar._text import chunk_id, split_chunk_id
from contextual_avatar.cache import (
    CacheEntry,
    ChunkCache,
    FIFOPolicy,
    HybridPolicy,
    LFUPolicy,
    LRUPolicy,
    MemoryChunkStore,
    RedisChunkStore,
    belady_hits,
    infinite_hits,
    policy_hits,
)
from contextual_avatar.testing import RedisServer
from contextual_avatar.types import Chunk, SourceRef, Span

RESULTS = Path(__file__).resolve().parent / "results"
CAPACITIES = list(range(1, 11))
POLICIES: dict[str, Any] = {
    "fifo": FIFOPolicy,
    "lru": LRUPolicy,
    "lfu": LFUPolicy,
    "hybrid": HybridPolicy,
}


def next_chunk(key: str) -> list[str]:
    doc, ordinal = split_chunk_id(key)
    return [chunk_id(doc, ordinal + 1)]


def oracle(replay: Replay) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for scenario in SCENARIOS:
        sessions: OrderedDict[str, list[str]] = OrderedDict()
        for session, key in replay.oracle_trace(scenario):
            if key is not None:
                sessions.setdefault(session, []).append(key)
        traces = list(sessions.values())
        turns = sum(map(len, traces))
        rows: dict[str, list[float]] = {"none": [0.0] * len(CAPACITIES)}
        for name, cls in POLICIES.items():
            rows[name] = [
                sum(sum(policy_hits(t, c, cls())) for t in traces) / turns for c in CAPACITIES
            ]
        rows["belady"] = [sum(sum(belady_hits(t, c)) for t in traces) / turns for c in CAPACITIES]
        inf = sum(sum(infinite_hits(t)) for t in traces) / turns
        rows["infinite"] = [inf] * len(CAPACITIES)
        rows["hybrid+prefetch"] = [
            sum(sum(policy_hits(t, c, HybridPolicy(), prefetch=next_chunk)) for t in traces) / turns
            for c in CAPACITIES
        ]
        out[scenario] = {"turns": turns, "hit_rate": rows}
    return out


_DOC = {"policy": "hybrid", "admission": "document", "neighbours": 4, "prefetch": True}
#: Served configurations: the stateless baseline (cache off, full hybrid + state retrieval
#: every turn), the previous default, and a sweep of the hit rule: cosine floor ``t``,
#: question terms allowed to be missing from the cache ``m``, and ``s``, the share of
#: chunks above which a term is too common to be checked. The engine default is
#: ``t0.30 m0 s0.05``.
SERVED: dict[str, dict[str, Any]] = {
    "stateless": {"enabled": False},
    "old default lru t0.55": {
        "policy": "lru",
        "admission": "results",
        "neighbours": 1,
        "prefetch": False,
        "hit_threshold": 0.55,
        "max_missing_terms": None,
    },
    "hybrid cosine-only t0.50": {**_DOC, "hit_threshold": 0.5, "max_missing_terms": None},
    "t0.30 m0 s0.05 (default)": {**_DOC, "hit_threshold": 0.3, "max_missing_terms": 0},
    "t0.30 m0 s0.02": {**_DOC, "hit_threshold": 0.3, "common_term_share": 0.02},
    "t0.30 m0 s0.01": {**_DOC, "hit_threshold": 0.3, "common_term_share": 0.01},
    "t0.30 m1 s1.0": {
        **_DOC,
        "hit_threshold": 0.3,
        "max_missing_terms": 1,
        "common_term_share": 1.0,
    },
    "t0.35 m2 s1.0": {
        **_DOC,
        "hit_threshold": 0.35,
        "max_missing_terms": 2,
        "common_term_share": 1.0,
    },
}


def summarise(records: list[TurnRecord], base: list[TurnRecord] | None) -> dict[str, float]:
    span = [r for r in records if r.gold_in_context is not None]
    hits = [r for r in span if r.cache_hit]
    out = {
        "turns": len(records),
        "served_hit_rate": sum(r.cache_hit for r in records) / len(records),
        "context_recall": sum(bool(r.gold_in_context) for r in span) / len(span),
        "false_hit_rate": sum(not r.gold_in_context for r in hits) / len(span),
        "recall_on_hits": (sum(bool(r.gold_in_context) for r in hits) / len(hits)) if hits else 0,
        "cache_ms_p50": float(np.percentile([r.timings["cache"] for r in records], 50)),
    }
    if base is not None:
        # Hits whose context lacks the gold span that stateless retrieval would have found.
        lost = sum(
            1
            for r, b in zip(records, base, strict=True)
            if r.cache_hit and b.gold_in_context and not r.gold_in_context
        )
        out["hits_losing_gold"] = lost / len(span)
    return out


async def served(replay: Replay, capacity: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for scenario in SCENARIOS:
        base: list[TurnRecord] | None = None
        rows = {}
        for name, cache in SERVED.items():
            t0 = time.perf_counter()
            async with replay.engine(cache={"capacity": capacity, **cache}) as engine:
                records = await replay.run(engine, scenario)
            if name == "stateless":
                base = records
            rows[name] = summarise(records, base)
            rows[name]["seconds"] = time.perf_counter() - t0
            print(f"  {scenario:8s} {name:24s} {json.dumps(rows[name])}", file=sys.stderr)
        out[scenario] = rows
    return out


async def ceiling(replay: Replay, capacity: int) -> dict[str, Any]:
    """Share of turns whose gold span is already in the cache when the turn starts.

    Replays with a hit rule that never fires (every turn searches the index and admits
    as the default does), reading the session's cache before each turn: a hit rule can
    only serve a turn at no recall loss when the gold span is there, so this bounds the
    served hit rate at equal recall (turns without a span aside).
    """
    out: dict[str, Any] = {}
    cache = {**_DOC, "capacity": capacity, "hit_threshold": 1.0, "max_missing_terms": None}
    for scenario in SCENARIOS:
        async with replay.engine(cache=cache) as engine:
            for session in replay.sessions(scenario):
                await engine.forget(session.id)
            cached = spans = 0
            for session, _, story, qa in replay.steps(scenario):
                entries = await engine.parts.store.entries(session.id)
                answer = await engine.ask(session.id, qa.question)
                if qa.span_start < 0:
                    continue
                spans += 1
                doc = replay.doc_id(story.id)
                cached += covered(
                    qa.span_start,
                    qa.span_end,
                    [_interval(e.chunk) for e in entries if e.chunk.doc_id == doc],
                )
                assert not answer.cache_hit
        out[scenario] = {"turns_with_span": spans, "gold_already_cached": cached / spans}
        print(f"  {scenario:8s} ceiling {json.dumps(out[scenario])}", file=sys.stderr)
    return out


def _entry(i: int, rng: np.random.Generator) -> CacheEntry:
    chunk = Chunk(f"doc:{i}", "doc", i, "x" * 400, (Span(0, 400, SourceRef("doc.txt")),))
    v = rng.standard_normal(384).astype(np.float32)
    return CacheEntry(chunk, v / np.linalg.norm(v))


async def _overhead(cache: ChunkCache, n: int = 2000) -> dict[str, float]:
    rng = np.random.default_rng(0)
    await cache.store.admit("bench", [_entry(i, rng) for i in range(5)])
    queries = rng.standard_normal((n, 2, 384)).astype(np.float32)
    times = []
    for q in queries:
        t0 = time.perf_counter()
        await cache.lookup("bench", q)
        times.append((time.perf_counter() - t0) * 1000)
    return {"p50_ms": float(np.percentile(times, 50)), "p99_ms": float(np.percentile(times, 99))}


async def overhead() -> dict[str, Any]:
    out: dict[str, Any] = {}
    memory = ChunkCache(MemoryChunkStore(capacity=5, policy_factory=HybridPolicy), threshold=0.5)
    out["memory"] = await _overhead(memory)
    if url := os.environ.get("REDIS_URL"):
        out["redis"] = await _redis_overhead(url)
    elif shutil.which("redis-server"):
        with tempfile.TemporaryDirectory() as tmp, RedisServer(Path(tmp)) as server:
            out["redis"] = await _redis_overhead(server.url)
    return out


async def _redis_overhead(url: str) -> dict[str, float]:
    store = RedisChunkStore(capacity=5, policy_factory=HybridPolicy, url=url, prefix="bench:cache")
    try:
        return await _overhead(ChunkCache(store, threshold=0.5), n=1000)
    finally:
        await store.clear("bench")
        await store.aclose()


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(17, 4.8))
    for ax, scenario in zip(axes[:2], SCENARIOS, strict=True):
        rows = result["oracle"][scenario]["hit_rate"]
        for name, values in rows.items():
            style = "--" if name in ("belady", "infinite") else "-"
            ax.plot(CAPACITIES, values, style, marker="o", ms=3, label=name)
        ax.set_title(f"oracle-trace hit rate: {scenario}")
        ax.set_xlabel("capacity (chunks)")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    ax = axes[2]
    for scenario, marker in zip(SCENARIOS, ("o", "s"), strict=True):
        for name, row in result["served"][scenario].items():
            ax.scatter(row["served_hit_rate"], row["context_recall"], marker=marker)
            ax.annotate(
                f"{scenario[:4]} {name}",
                (row["served_hit_rate"], row["context_recall"]),
                fontsize=7,
            )
    ax.set_xlabel("served hit rate (no index call)")
    ax.set_ylabel("context recall")
    ax.set_title(f"served, capacity {result['served_capacity']}")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


async def main_async(args: argparse.Namespace) -> None:
    t0 = time.perf_counter()
    replay = Replay(coqa=args.coqa, conversations=args.conversations)
    await replay.prepare()
    result: dict[str, Any] = {
        "passages": len(replay.stories),
        "conversations_served": len(replay.conversations),
        "capacities": CAPACITIES,
    }
    full = Replay(coqa=args.coqa)  # oracle traces over every conversation
    await full.prepare(verbose=False)
    result["oracle"] = oracle(full)
    result["served_capacity"] = args.capacity
    result["served"] = await served(replay, args.capacity)
    result["served_ceiling"] = await ceiling(replay, args.capacity)
    result["lookup_overhead"] = await overhead()
    result["seconds"] = time.perf_counter() - t0
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "cache_hit_rate.json").write_text(json.dumps(result, indent=2))
    plot(result, RESULTS / "cache_hit_rate.png")

    for scenario in SCENARIOS:
        o = result["oracle"][scenario]
        print(f"\noracle-trace hit rate, {scenario} ({o['turns']} turns with a gold span)")
        print("policy".ljust(16) + "".join(f"{c:>7d}" for c in CAPACITIES))
        for name, values in o["hit_rate"].items():
            print(name.ljust(16) + "".join(f"{v:7.3f}" for v in values))
    for scenario in SCENARIOS:
        print(
            f"\nserved at capacity {args.capacity}, {scenario} "
            f"({len(replay.conversations)} conversations)"
        )
        print(
            f"{'config':24s} {'hit':>6s} {'recall':>7s} {'false':>6s} {'lost':>6s} {'p50 ms':>7s}"
        )
        for name, r in result["served"][scenario].items():
            print(
                f"{name:24s} {r['served_hit_rate']:6.3f} {r['context_recall']:7.3f} "
                f"{r['false_hit_rate']:6.3f} {r.get('hits_losing_gold', 0):6.3f} "
                f"{r['cache_ms_p50']:7.3f}"
            )
    print("\ngold span already cached (always-miss replay):", json.dumps(result["served_ceiling"]))
    print("\nlookup overhead (ms, embedding excluded):", json.dumps(result["lookup_overhead"]))
    print(f"total {result['seconds']:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description="chunk-cache benchmark")
    parser.add_argument("--coqa", type=Path, default=DEFAULT_COQA)
    parser.add_argument("--conversations", type=int, default=60)
    parser.add_argument("--capacity", type=int, default=5)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
