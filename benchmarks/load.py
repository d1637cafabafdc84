"""Load: many concurrent sessions on one engine, several engines sharing Redis and a graph.

Scenarios (all on real servers: a redis-server child on a free port, a shared SQLite graph):

* ``memory``: 1,000 sessions at once on one ``AsyncContextEngine`` (in-process cache);
* ``redis``: the same with ``cache.store="redis"`` (plus Redis memory per session);
* ``procs``: several engine processes sharing the redis-server and one graph file;
* ``churn``: sessions come and go in waves, ``cache.max_sessions`` caps what is kept:
  resident sessions and process RSS after each wave show memory stays bounded.

Reported per scenario: ask overhead p50/p99 in ms, excluding the model (``total`` minus
``answer``: embed + cache + search + assembly + history), throughput in turns/s, and
memory per session. Documents and questions are 30 real CoQA passages and their
questions (``../shared/data/coqa-dev.json``). The model is excluded by design: a
``QuoteResponder`` (a real :class:`Responder` that quotes the best chunk, no model call)
stands in for it, so the figures measure the engine, not an answerer. This is a closed
burst (everyone asks at once); the rate a deployment sustains is ``benchmarks/serving.py``'s.

    .venv/bin/python benchmarks/load.py [--sessions 1000] [--turns 2] [--procs 3]

Writes ``benchmarks/results/load.json`` and ``load.png``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from contextual_avatar import Parts
from contextual_avatar.cache import MemoryChunkStore
from contextual_avatar.testing import RedisServer

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
COQA = REPO.parent / "shared" / "data" / "coqa-dev.json"
RESULTS = HERE / "results"
N_DOCS = 30


class QuoteResponder:
    """Answers with the first sentence of the best chunk: the model edge, without a model."""

    model = "quote"

    def __init__(self) -> None:
        """Register the stand-in as a free model so the cost ledger can price its turns."""
        from contextual_avatar.routing import register_prices

        register_prices(
            self.model, input_usd_per_mtok=0.0, output_usd_per_mtok=0.0, context_window=8192
        )

    async def respond(self, question: str, *, context: Any, history: Any) -> Any:
        """Quote the best context chunk."""
        from contextual_avatar.routing import Reply
        from contextual_avatar.types import TokenUsage

        best = context[0].chunk if context else None
        text = best.text.split(". ")[0] if best is not None else "I could not find that."
        refs = (best.spans[0].ref,) if best is not None and best.spans else ()
        return Reply(text, refs, TokenUsage(0, 0), 0.0, self.model)


def _coqa(n_docs: int) -> tuple[list[tuple[str, str]], list[str]]:
    data = json.loads(COQA.read_text(encoding="utf-8"))["data"][:n_docs]
    docs = [(f"{d['id']}.txt", d["story"]) for d in data]
    questions = [q["input_text"] for d in data for q in d["questions"]]
    return docs, questions


def _rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


async def _run_sessions(
    engine: Any, sessions: list[str], questions: list[str], turns: int, seed: int
) -> tuple[list[float], float]:
    """Every session asks ``turns`` questions; all sessions run at once."""
    rng = np.random.default_rng(seed)
    overhead: list[float] = []

    async def one(session: str) -> None:
        start = int(rng.integers(0, len(questions) - turns))
        for q in questions[start : start + turns]:
            answer = await engine.ask(session, q)
            t = answer.timings
            overhead.append(t["total"] - t.get("answer", 0.0))

    t0 = time.perf_counter()
    await asyncio.gather(*(one(s) for s in sessions))
    return overhead, time.perf_counter() - t0


def _engine_config(data_dir: Path, **cache: Any) -> Any:
    from contextual_avatar import EngineConfig

    return EngineConfig(data_dir=data_dir, cache=cache)


async def _prepare_index(data_dir: Path, docs: list[tuple[str, str]], embedder: Any) -> None:
    from contextual_avatar import AsyncContextEngine

    folder = data_dir.parent / "docs"
    folder.mkdir(parents=True, exist_ok=True)
    async with AsyncContextEngine(
        _engine_config(data_dir), parts=Parts(embedder=embedder)
    ) as engine:
        for name, text in docs:
            path = folder / name
            path.write_text(text, encoding="utf-8")
            await engine.ingest(path)


async def scenario_one_engine(
    name: str,
    data_dir: Path,
    embedder: Any,
    questions: list[str],
    *,
    sessions: int,
    turns: int,
    cache: dict[str, Any],
    redis_url: str | None = None,
) -> dict[str, Any]:
    from contextual_avatar import AsyncContextEngine

    config = _engine_config(data_dir, **cache)
    async with AsyncContextEngine(
        config, parts=Parts(embedder=embedder, small=QuoteResponder(), large=QuoteResponder())
    ) as engine:
        await engine.ask("warm-up", questions[0])  # loads models, fills the thread pool
        gc.collect()
        rss0 = _rss_mb()
        redis0 = await _redis_used(redis_url)
        ids = [f"{name}-{i}" for i in range(sessions)]
        overhead, seconds = await _run_sessions(engine, ids, questions, turns, seed=1)
        gc.collect()
        rss1 = _rss_mb()
        redis1 = await _redis_used(redis_url)
    row = {
        "scenario": name,
        "sessions": sessions,
        "turns": len(overhead),
        "p50_ms": _pct(overhead, 50),
        "p99_ms": _pct(overhead, 99),
        "turns_per_s": len(overhead) / seconds,
        "seconds": seconds,
        "rss_mb": rss1,
        "kb_per_session": (rss1 - rss0) * 1024 / sessions,
    }
    if redis_url is not None:
        row["redis_kb_per_session"] = (redis1 - redis0) / 1024 / sessions
    return row


async def _redis_used(url: str | None) -> float:
    if url is None:
        return 0.0
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    try:
        info = await client.info("memory")
    finally:
        await client.aclose()
    return float(info["used_memory"])


async def scenario_uncontended(
    data_dir: Path, embedder: Any, questions: list[str], *, turns: int = 60
) -> dict[str, Any]:
    """One session at a time: the overhead without queueing behind other sessions."""
    from contextual_avatar import AsyncContextEngine

    async with AsyncContextEngine(
        _engine_config(data_dir),
        parts=Parts(embedder=embedder, small=QuoteResponder(), large=QuoteResponder()),
    ) as engine:
        await engine.ask("warm-up", questions[0])
        overhead = []
        t0 = time.perf_counter()
        for i, q in enumerate(questions[:turns]):
            answer = await engine.ask(f"solo-{i // 4}", q)
            overhead.append(answer.timings["total"] - answer.timings.get("answer", 0.0))
        seconds = time.perf_counter() - t0
    return {
        "scenario": "one at a time",
        "sessions": turns // 4,
        "turns": turns,
        "p50_ms": _pct(overhead, 50),
        "p99_ms": _pct(overhead, 99),
        "turns_per_s": turns / seconds,
        "seconds": seconds,
        "rss_mb": _rss_mb(),
        "kb_per_session": float("nan"),
    }


async def scenario_churn(
    data_dir: Path,
    embedder: Any,
    questions: list[str],
    *,
    waves: int,
    per_wave: int,
    max_sessions: int,
) -> dict[str, Any]:
    """Waves of new sessions; the store keeps at most ``max_sessions``."""
    from contextual_avatar import AsyncContextEngine

    config = _engine_config(data_dir, max_sessions=max_sessions)
    samples = []
    async with AsyncContextEngine(
        config, parts=Parts(embedder=embedder, small=QuoteResponder(), large=QuoteResponder())
    ) as engine:
        await engine.ask("warm-up", questions[0])
        gc.collect()
        rss0 = _rss_mb()
        for wave in range(waves):
            ids = [f"churn-{wave}-{i}" for i in range(per_wave)]
            await _run_sessions(engine, ids, questions, 1, seed=wave)
            gc.collect()
            store = engine.parts.store
            resident = len(store) if isinstance(store, MemoryChunkStore) else -1
            samples.append(
                {
                    "sessions_seen": (wave + 1) * per_wave,
                    "resident": resident,
                    "rss_delta_mb": _rss_mb() - rss0,
                }
            )
    return {"max_sessions": max_sessions, "samples": samples}


_CHILD = """
import asyncio, json, sys, time
sys.path.insert(0, {bench!r})
from load import QuoteResponder, _run_sessions
from contextual_avatar import AsyncContextEngine, EngineConfig, Parts

async def main():
    data_dir, redis_url, graph, who, sessions, turns = sys.argv[1:7]
    questions = json.loads(sys.stdin.read())
    config = EngineConfig(
        data_dir=data_dir,
        cache={{"store": "redis", "redis_url": redis_url, "key_prefix": "load:" + who}},
        knowledge={{"backend": "sqlite", "path": graph, "outbox_dir": data_dir + "/outbox-" + who}},
        embedder={{"threads": 1}},  # one core each: processes share the machine's cores
    )
    async with AsyncContextEngine(config, parts=Parts(small=QuoteResponder(), large=QuoteResponder())) as engine:
        await engine.ask(who + "-warm", questions[0])
        print("ready", flush=True)
        sys.stdin = open("/dev/null")
        ids = [f"{{who}}-{{i}}" for i in range(int(sessions))]
        overhead, seconds = await _run_sessions(engine, ids, questions, int(turns), seed=7)
        await engine.flush()
        stats = engine.knowledge_stats
        submitted = stats.submitted if stats is not None else 0
    print(json.dumps({{"overhead": overhead, "seconds": seconds, "submitted": submitted}}))

asyncio.run(main())
"""


def scenario_processes(
    data_dir: Path, redis_url: str, questions: list[str], *, procs: int, sessions: int, turns: int
) -> dict[str, Any]:
    """Several engine processes on one index, one redis-server and one graph file."""
    graph = data_dir.parent / "shared-graph.sqlite3"
    code = _CHILD.format(bench=str(HERE))
    children = []
    for p in range(procs):
        child = subprocess.Popen(
            [
                *(sys.executable, "-c", code, str(data_dir), redis_url, str(graph)),
                *(f"p{p}", str(sessions), str(turns)),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdin is not None
        child.stdin.write(json.dumps(questions))
        child.stdin.close()
        children.append(child)
    for child in children:  # all loaded before timing starts
        assert child.stdout is not None
        if child.stdout.readline().strip() != "ready":
            raise SystemExit("an engine process failed to start")
    t0 = time.perf_counter()
    outputs = []
    for child in children:
        assert child.stdout is not None
        outputs.append(json.loads(child.stdout.read()))
        child.wait()
    seconds = time.perf_counter() - t0
    overhead = [x for out in outputs for x in out["overhead"]]
    stored = _graph_count(graph)
    submitted = sum(out["submitted"] for out in outputs)
    return {
        "scenario": f"{procs} processes, shared Redis + graph",
        "sessions": procs * sessions,
        "turns": len(overhead),
        "p50_ms": _pct(overhead, 50),
        "p99_ms": _pct(overhead, 99),
        "turns_per_s": len(overhead) / seconds,
        "seconds": seconds,
        "rss_mb": float("nan"),
        "kb_per_session": float("nan"),
        "facts_submitted": submitted,
        "facts_stored": stored,
    }


def _graph_count(path: Path) -> int:
    import sqlite3

    if not path.exists():
        return 0
    with sqlite3.connect(path) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        table = "facts" if "facts" in tables else sorted(tables)[0]
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def _plot(rows: list[dict[str, Any]], churn: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    names = [r["scenario"] for r in rows]
    x = np.arange(len(rows))
    ax1.bar(x - 0.2, [r["p50_ms"] for r in rows], 0.4, label="p50")
    ax1.bar(x + 0.2, [r["p99_ms"] for r in rows], 0.4, label="p99")
    ax1.set_xticks(x, names, rotation=15, fontsize=8)
    ax1.set_ylabel("ask overhead without the model (ms)")
    ax1.set_yscale("log")
    ax1.legend()
    ax1.set_title("Overhead per turn")
    seen = [s["sessions_seen"] for s in churn["samples"]]
    ax2.plot(seen, [s["resident"] for s in churn["samples"]], "o-", label="resident sessions")
    ax2.axhline(churn["max_sessions"], color="grey", ls="--", label="max_sessions")
    ax2.set_xlabel("sessions that came and went")
    ax2.set_ylabel("sessions")
    ax3 = ax2.twinx()
    ax3.plot(seen, [s["rss_delta_mb"] for s in churn["samples"]], "s-", color="C3", label="RSS +MB")
    ax3.set_ylabel("process RSS growth (MB)")
    ax2.legend(loc="upper left")
    ax3.legend(loc="lower right")
    ax2.set_title("Memory as sessions come and go")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


async def amain(args: argparse.Namespace) -> dict[str, Any]:
    from contextual_avatar.retrieval import EmbedderConfig, build_embedder

    docs, questions = _coqa(N_DOCS)
    embedder = build_embedder(EmbedderConfig())  # the engine's default (ONNX when installed)
    embedder.embed(["warm up"])
    with tempfile.TemporaryDirectory(prefix="ca-load-") as tmp:
        root = Path(tmp)
        data_dir = root / "data"
        await _prepare_index(data_dir, docs, embedder)
        rows = [await scenario_uncontended(data_dir, embedder, questions)]
        rows.append(
            await scenario_one_engine(
                "memory",
                data_dir,
                embedder,
                questions,
                sessions=args.sessions,
                turns=args.turns,
                cache={},
            )
        )
        redis = RedisServer(root / "redis").start()
        redis_url = redis.url
        try:
            rows.append(
                await scenario_one_engine(
                    "redis",
                    data_dir,
                    embedder,
                    questions,
                    sessions=args.sessions,
                    turns=args.turns,
                    cache={"store": "redis", "redis_url": redis_url, "key_prefix": "load:one"},
                    redis_url=redis_url,
                )
            )
            rows.append(
                scenario_processes(
                    data_dir,
                    redis_url,
                    questions,
                    procs=args.procs,
                    sessions=args.sessions // args.procs,
                    turns=args.turns,
                )
            )
        finally:
            redis.kill()
        churn = await scenario_churn(
            data_dir,
            embedder,
            questions,
            waves=args.waves,
            per_wave=args.per_wave,
            max_sessions=args.max_sessions,
        )
    return {"rows": rows, "churn": churn}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--turns", type=int, default=2)
    parser.add_argument("--procs", type=int, default=3)
    parser.add_argument("--waves", type=int, default=8)
    parser.add_argument("--per-wave", type=int, default=250)
    parser.add_argument("--max-sessions", type=int, default=500)
    args = parser.parse_args()
    started = time.perf_counter()
    result = asyncio.run(amain(args))
    result["machine"] = {
        "load_1m": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "seconds": time.perf_counter() - started,
        "args": vars(args),
    }
    header = (
        f"{'scenario':38} {'sessions':>8} {'turns':>6} {'p50 ms':>8} {'p99 ms':>9} "
        f"{'turns/s':>8} {'KB/session':>10}"
    )
    print(header)
    for r in result["rows"]:
        print(
            f"{r['scenario']:38} {r['sessions']:>8} {r['turns']:>6} {r['p50_ms']:>8.1f} "
            f"{r['p99_ms']:>9.1f} {r['turns_per_s']:>8.1f} {r['kb_per_session']:>10.1f}"
        )
        if "redis_kb_per_session" in r:
            print(f"{'':38} Redis memory per session: {r['redis_kb_per_session']:.1f} KB")
        if "facts_stored" in r:
            print(
                f"{'':38} facts submitted {r['facts_submitted']}, in the graph {r['facts_stored']}"
            )
    print(f"\nchurn (cache.max_sessions={result['churn']['max_sessions']}):")
    for s in result["churn"]["samples"]:
        print(
            f"  after {s['sessions_seen']:>6} sessions: {s['resident']:>5} resident, "
            f"RSS +{s['rss_delta_mb']:.1f} MB"
        )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "load.json").write_text(json.dumps(result, indent=1) + "\n")
    _plot(result["rows"], result["churn"], RESULTS / "load.png")
    print(f"\nwrote {RESULTS / 'load.json'} and load.png in {result['machine']['seconds']:.0f} s")


if __name__ == "__main__":
    main()
