"""Serving: open-loop load at a sweep of rates, as serving-engine benchmarks measure it.

Turns arrive as a Poisson process at the offered rate, over many sessions: each arrival
is the next question of a session whose think time (exponential, mean 2 s) has passed
since its last answer, or the first question of a new session when none is ready. A
session is one multi-turn CoQA conversation (``../shared/data/coqa-dev.json``, its
passage among the ingested ones). Arrivals never wait for answers. For each
rate: achieved throughput, p50/p90/p99 turn latency, CPU per turn and the embedding
batch sizes seen, for two answerers:

* ``offline``: the default engine with the offline extractive answerer;
* ``remote``: a stand-in for a remote LLM (a Responder that sleeps a fixed time, then
  quotes the best chunk), so the context path's own cost (``total`` minus ``answer``)
  is visible apart from the answerer's.

Also: the highest rate whose p99 stays <= 250 ms, for one process and for two processes
sharing one redis-server (each offered half the rate); and closed-loop concurrency
(turns/s with 20 sessions asking at once against one session at a time).

    .venv/bin/python benchmarks/serving.py [--rates 10,25,50,100,150,200,300] [--seconds 15]

Writes ``benchmarks/results/serving.json`` and ``serving.png`` (latency vs offered rate).
The machine is shared: the load average is recorded with every row.
"""

from __future__ import annotations

import argparse
import asyncio
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

HERE = Path(__file__).resolve().parent
COQA = HERE.parent.parent / "shared" / "data" / "coqa-dev.json"
RESULTS = HERE / "results"
P99_TARGET_MS = 250.0


class RemoteStandIn:
    """A remote LLM's latency without the LLM: sleeps, then quotes the best chunk."""

    def __init__(self, latency_s: float) -> None:
        from contextual_avatar.routing import register_prices

        self.latency_s = latency_s
        self.model = "remote-stand-in"
        register_prices(
            self.model, input_usd_per_mtok=0.0, output_usd_per_mtok=0.0, context_window=8192
        )

    async def respond(self, question: str, *, context: Any, history: Any) -> Any:
        from contextual_avatar.routing import Reply
        from contextual_avatar.types import TokenUsage

        await asyncio.sleep(self.latency_s)
        best = context[0].chunk if context else None
        text = best.text.split(". ")[0] if best is not None else "I could not find that."
        return Reply(text, (), TokenUsage(0, 0), 0.0, self.model)


def load_conversations(path: Path, docs: int) -> tuple[list[tuple[str, str]], list[list[str]]]:
    data = json.loads(path.read_text(encoding="utf-8"))["data"][:docs]
    documents = [(f"{d['id']}.txt", d["story"]) for d in data]
    conversations = [[q["input_text"] for q in d["questions"]] for d in data]
    return documents, conversations


def _batcher(engine: Any) -> Any:
    """The engine's embedding batcher (a benchmark may look inside)."""
    return getattr(engine._built.pipeline.understand, "_embedder", None)


def _engine(
    data_dir: Path,
    answerer: str,
    latency_s: float,
    cache: dict[str, Any],
    embedder: dict[str, Any] | None = None,
) -> Any:
    from contextual_avatar import AsyncContextEngine, EngineConfig, Parts

    config = EngineConfig(data_dir=data_dir, cache=cache, embedder=embedder or {})
    parts = Parts()
    if answerer == "remote":
        stand_in = RemoteStandIn(latency_s)
        parts = Parts(small=stand_in, large=stand_in)
    return AsyncContextEngine(config, parts=parts)


async def prepare(data_dir: Path, documents: list[tuple[str, str]]) -> None:
    folder = data_dir.parent / "docs"
    folder.mkdir(parents=True, exist_ok=True)
    async with _engine(data_dir, "offline", 0.0, {}) as engine:
        for name, text in documents:
            path = folder / name
            path.write_text(text, encoding="utf-8")
            await engine.ingest(path)


async def open_loop(
    engine: Any,
    conversations: list[list[str]],
    *,
    rate: float,
    seconds: float,
    think_s: float,
    seed: int,
    tag: str,
) -> dict[str, Any]:
    """Offer ``rate`` turns/s for ``seconds`` as a Poisson process over many sessions.

    Each arrival is the next turn of a session whose think time (exponential, mean
    ``think_s``) has passed since its last answer; when no session is ready, a new one
    (the next CoQA conversation) starts. Arrivals never wait for answers (open loop), so
    queueing shows in the latencies instead of lowering the offered rate.
    """
    import heapq

    rng = np.random.default_rng(seed)
    latencies: list[float] = []
    context_ms: list[float] = []
    errors = 0
    ready: list[tuple[float, int]] = []  # (ready at, session number), a heap
    progress: dict[int, int] = {}  # session number -> next question
    tasks: set[asyncio.Task[None]] = set()

    async def turn(n: int) -> None:
        nonlocal errors
        questions = conversations[n % len(conversations)]
        question = questions[progress[n]]
        progress[n] += 1
        t0 = time.perf_counter()
        try:
            answer = await engine.ask(f"{tag}-{n}", question)
        except Exception:
            errors += 1
            return
        done = time.perf_counter()
        latencies.append((done - t0) * 1000)
        t = answer.timings
        context_ms.append(t["total"] - t.get("answer", 0.0))
        if progress[n] < len(questions):
            heapq.heappush(ready, (done + float(rng.exponential(think_s)), n))

    batcher = _batcher(engine)
    sizes0 = dict(batcher.stats.sizes or {}) if batcher is not None else {}
    cpu0, wall0 = time.process_time(), time.perf_counter()
    stop_at = wall0 + seconds
    next_at = wall0
    sessions = 0
    while next_at < stop_at:
        delay = next_at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        now = time.perf_counter()
        if ready and ready[0][0] <= now:
            _, n = heapq.heappop(ready)
        else:
            n = sessions
            sessions += 1
            progress[n] = 0
        task = asyncio.create_task(turn(n))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        next_at += float(rng.exponential(1 / rate))
    await asyncio.gather(*tasks)  # turns already asked finish
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    sizes: dict[int, int] = {}
    if batcher is not None:
        for k, v in (batcher.stats.sizes or {}).items():
            if v - sizes0.get(k, 0):
                sizes[k] = v - sizes0.get(k, 0)
    return {
        "latencies": latencies,
        "context_ms": context_ms,
        "errors": errors,
        "wall_s": wall,
        "window_s": seconds,
        "cpu_s": cpu,
        "sizes": sizes,
        "sessions": sessions,
    }


def summarise(rate: float, runs: list[dict[str, Any]]) -> dict[str, Any]:
    lat = [x for r in runs for x in r["latencies"]]
    ctx = [x for r in runs for x in r["context_ms"]]
    sizes: dict[int, int] = {}
    for r in runs:
        for k, v in r["sizes"].items():
            sizes[int(k)] = sizes.get(int(k), 0) + v
    batches = sum(sizes.values())
    requests = sum(k * v for k, v in sizes.items())
    wall = max(r["wall_s"] for r in runs)
    # Achieved: turns answered per second of the arrival window (late answers included).
    window = max(r["window_s"] for r in runs)

    def pct(values: list[float], q: float) -> float:
        return float(np.percentile(values, q)) if values else float("nan")

    return {
        "offered_per_s": rate,
        "achieved_per_s": len(lat) / max(wall, window),
        "sessions": sum(r.get("sessions", 0) for r in runs),
        "turns": len(lat),
        "p50_ms": pct(lat, 50),
        "p90_ms": pct(lat, 90),
        "p99_ms": pct(lat, 99),
        "context_p50_ms": pct(ctx, 50),
        "context_p99_ms": pct(ctx, 99),
        "cpu_ms_per_turn": 1000 * sum(r["cpu_s"] for r in runs) / max(len(lat), 1),
        "batch_mean": requests / batches if batches else 0.0,
        "batch_max": max(sizes) if sizes else 0,
        "errors": sum(r["errors"] for r in runs),
        "load_1m": round(os.getloadavg()[0], 2),
    }


async def sweep_one_process(
    args: argparse.Namespace, data_dir: Path, conversations: list[list[str]], answerer: str
) -> list[dict[str, Any]]:
    rows = []
    async with _engine(data_dir, answerer, args.remote_ms / 1000, {}) as engine:
        await engine.ask("warm-up", conversations[0][0])
        for i, rate in enumerate(args.rates):
            run = await open_loop(
                engine,
                conversations,
                rate=rate,
                seconds=args.seconds,
                think_s=args.think,
                seed=i,
                tag=f"{answerer}-{rate}",
            )
            row = summarise(rate, [run])
            rows.append(row)
            _print_row(answerer, row)
            if row["achieved_per_s"] < 0.7 * rate and row["p99_ms"] > 10 * P99_TARGET_MS:
                break  # saturated: higher rates only queue longer
    return rows


_CHILD = """
import asyncio, json, sys
sys.path.insert(0, {bench!r})
from serving import _engine, open_loop
async def main():
    data_dir, redis_url, who, rate, seconds, think, conv, answerer, latency = sys.argv[1:10]
    conversations = json.loads(open(conv).read())
    cache = {{"store": "redis", "redis_url": redis_url, "key_prefix": "serving:" + who}}
    # One core each: the two processes share the machine's two cores.
    async with _engine(__import__("pathlib").Path(data_dir), answerer, float(latency), cache,
                       {{"threads": 1}}) as engine:
        await engine.ask(who + "-warm", conversations[0][0])
        print("ready", flush=True)
        sys.stdin.readline()
        run = await open_loop(engine, conversations, rate=float(rate), seconds=float(seconds),
                              think_s=float(think), seed=hash(who) % 1000, tag=who)
    print(json.dumps(run))
asyncio.run(main())
"""


def two_processes(
    args: argparse.Namespace, data_dir: Path, conversations: list[list[str]], redis_url: str
) -> list[dict[str, Any]]:
    conv_file = data_dir.parent / "conversations.json"
    conv_file.write_text(json.dumps(conversations))
    rows = []
    for rate in args.rates:
        children = [
            subprocess.Popen(
                [
                    *(sys.executable, "-c", _CHILD.format(bench=str(HERE))),
                    *(str(data_dir), redis_url, f"p{p}-{rate}", str(rate / 2)),
                    *(str(args.seconds), str(args.think), str(conv_file)),
                    *(args.procs_answerer, str(args.remote_ms / 1000)),
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for p in range(2)
        ]
        for child in children:
            assert child.stdout is not None
            if child.stdout.readline().strip() != "ready":
                raise SystemExit("an engine process failed to start")
        for child in children:  # start both together
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        runs = []
        for child in children:
            out, _ = child.communicate(timeout=args.seconds * 20 + 120)
            runs.append(json.loads(out.strip().splitlines()[-1]))
        row = summarise(rate, runs)
        rows.append(row)
        _print_row("2 procs", row)
        if row["achieved_per_s"] < 0.7 * rate and row["p99_ms"] > 10 * P99_TARGET_MS:
            break
    return rows


async def closed_loop(
    data_dir: Path, conversations: list[list[str]], sessions: int, turns: int
) -> dict[str, Any]:
    """``sessions`` sessions ask back to back (no think time); turns/s over ``turns`` turns."""
    async with _engine(data_dir, "offline", 0.0, {}) as engine:
        await engine.ask("warm-up", conversations[0][0])
        per = max(1, turns // sessions)

        async def one(n: int) -> None:
            questions = conversations[n % len(conversations)][:per]
            for q in questions:
                await engine.ask(f"closed-{sessions}-{n}", q)

        t0 = time.perf_counter()
        await asyncio.gather(*(one(n) for n in range(sessions)))
        wall = time.perf_counter() - t0
    done = sum(min(per, len(conversations[n % len(conversations)])) for n in range(sessions))
    return {"sessions": sessions, "turns": done, "turns_per_s": done / wall}


def best_rate(rows: list[dict[str, Any]], key: str = "p99_ms") -> float:
    """Highest offered rate served (90% achieved) with ``key`` <= 250 ms.

    With the remote stand-in the turn includes its fixed sleep, so ``context_p99_ms``
    (the turn without the answerer) is the figure held to 250 ms.
    """
    ok = [
        r["offered_per_s"]
        for r in rows
        if r[key] <= P99_TARGET_MS and r["achieved_per_s"] >= 0.9 * r["offered_per_s"]
    ]
    return max(ok) if ok else 0.0


def _print_row(name: str, r: dict[str, Any]) -> None:
    print(
        f"{name:8} offered {r['offered_per_s']:6.0f}/s achieved {r['achieved_per_s']:6.1f}/s "
        f"p50 {r['p50_ms']:7.1f} p90 {r['p90_ms']:7.1f} p99 {r['p99_ms']:8.1f} ms  "
        f"context p99 {r['context_p99_ms']:7.1f} ms  cpu/turn {r['cpu_ms_per_turn']:5.1f} ms  "
        f"batch mean {r['batch_mean']:4.1f} max {r['batch_max']:3d}  load {r['load_1m']}",
        flush=True,
    )


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for i, (name, rows) in enumerate(result["sweeps"].items()):
        if not rows:
            continue
        x = [r["offered_per_s"] for r in rows]
        ax.plot(x, [r["p50_ms"] for r in rows], "o--", color=f"C{i}", label=f"{name} p50")
        ax.plot(x, [r["p99_ms"] for r in rows], "s-", color=f"C{i}", label=f"{name} p99")
    ax.axhline(P99_TARGET_MS, color="grey", ls=":", label="250 ms")
    ax.set_xlabel("offered turns/s (Poisson)")
    ax.set_ylabel("turn latency (ms)")
    ax.set_yscale("log")
    ax.set_title("Turn latency against offered load (2 shared cores)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


async def amain(args: argparse.Namespace) -> dict[str, Any]:
    documents, conversations = load_conversations(args.coqa, args.docs)
    result: dict[str, Any] = {"sweeps": {}, "best_rate_p99_250ms": {}}
    with tempfile.TemporaryDirectory(prefix="ca-serving-") as tmp:
        data_dir = Path(tmp) / "data"
        await prepare(data_dir, documents)
        one = await closed_loop(data_dir, conversations, 1, args.closed_turns)
        many = await closed_loop(data_dir, conversations, 20, args.closed_turns)
        result["concurrency"] = {
            "one_at_a_time_per_s": one["turns_per_s"],
            "twenty_sessions_per_s": many["turns_per_s"],
            "ratio": many["turns_per_s"] / one["turns_per_s"],
        }
        print(
            f"closed loop: one session {one['turns_per_s']:.1f} turns/s, 20 sessions "
            f"{many['turns_per_s']:.1f} turns/s ({result['concurrency']['ratio']:.1f}x)"
        )
        for answerer in args.answerers:
            rows = await sweep_one_process(args, data_dir, conversations, answerer)
            result["sweeps"][answerer] = rows
            key = "context_p99_ms" if answerer == "remote" else "p99_ms"
            result["best_rate_p99_250ms"][f"{answerer}, 1 process"] = best_rate(rows, key)
        if args.procs:
            from contextual_avatar.testing import RedisServer

            redis = RedisServer(Path(tmp) / "redis").start()
            try:
                rows = two_processes(args, data_dir, conversations, redis.url)
            finally:
                redis.kill()
            result["sweeps"][f"{args.procs_answerer}, 2 processes + Redis"] = rows
            key = "context_p99_ms" if args.procs_answerer == "remote" else "p99_ms"
            result["best_rate_p99_250ms"][f"{args.procs_answerer}, 2 processes + Redis"] = (
                best_rate(rows, key)
            )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="10,25,50,100,150,200,300")
    parser.add_argument("--seconds", type=float, default=15.0, help="arrival window per rate")
    parser.add_argument("--think", type=float, default=2.0, help="mean think time (s)")
    parser.add_argument("--docs", type=int, default=60)
    parser.add_argument("--remote-ms", type=float, default=300.0)
    parser.add_argument("--answerers", default="offline,remote")
    parser.add_argument("--closed-turns", type=int, default=200)
    parser.add_argument("--no-procs", dest="procs", action="store_false")
    parser.add_argument("--procs-answerer", default="remote", help="answerer of the 2 processes")
    parser.add_argument("--coqa", type=Path, default=COQA)
    args = parser.parse_args()
    args.rates = [float(r) for r in args.rates.split(",")]
    args.answerers = [a for a in args.answerers.split(",") if a]
    started = time.perf_counter()
    load0 = os.getloadavg()[0]
    result = asyncio.run(amain(args))
    result["meta"] = {
        "command": "python benchmarks/serving.py " + " ".join(sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "load_1m_at_start": round(load0, 2),
        "seconds": round(time.perf_counter() - started),
        "think_s": args.think,
        "remote_ms": args.remote_ms,
        "documents": args.docs,
    }
    print("highest rate with p99 <= 250 ms:")
    for k, v in result["best_rate_p99_250ms"].items():
        print(f"  {k}: {v:.0f} turns/s")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "serving.json").write_text(json.dumps(result, indent=1) + "\n")
    plot(result, RESULTS / "serving.png")
    print(f"wrote {RESULTS / 'serving.json'} and serving.png")


if __name__ == "__main__":
    main()
