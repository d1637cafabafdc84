"""Knowledge-graph benchmark: write throughput, ask-path cost, a fault run, related() latency.

Run: ``.venv/bin/python benchmarks/knowledge.py`` (about a minute on 2 cores). Starts its own
ArcadeDB Bolt server (``arcadedb-embedded``) as the Neo4j stand-in; with ``NEO4J_URI`` set,
the throughput and related() figures are also taken against that server.

Measures:
  * facts/s written per sink (direct ``write`` of 500-fact batches, and end to end through
    the background writer: submit everything, then ``flush``);
  * time the ask path spends handing a turn's facts to the writer (``submit``), and the
    offline extraction time per turn;
  * 1,000 turns while the Bolt server is SIGKILLed at turn 300 and restarted at turn 600:
    facts lost and duplicated (graph nodes and MENTIONS edges);
  * a writer process SIGKILLed after its facts were acknowledged to the outbox (store down):
    facts lost after a replay;
  * ``related()`` latency on the populated graphs.

Writes ``benchmarks/results/knowledge.json`` and ``knowledge.png``.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

from contextual_avatar._text import chunk_id
from contextual_avatar.knowledge import (
    BackgroundWriter,
    Neo4jGraphSink,
    SQLiteGraphSink,
    extract_facts,
    session_key,
)
from contextual_avatar.testing import BoltServer, free_port
from contextual_avatar.types import (
    Answer,
    CacheDecision,
    Chunk,
    Fact,
    RouteDecision,
    ScoredChunk,
    SourceRef,
    Span,
    Tier,
    TokenUsage,
)

RESULTS = Path(__file__).parent / "results"
TURNS = 1000
KILL_AT, RESTART_AT = 300, 600
TURN_GAP_S = 0.002  # the ask path's own work between turns, so the writer runs alongside
BATCH = 500

_CITIES = ["Paris", "Lisbon", "Osaka", "Nairobi", "Quito", "Tromsø", "Zürich", "Hanoi"]
_TOPICS = ["refund window", "warranty period", "shipping time", "opening hours", "price"]


def make_turn(session: str, turn: int) -> tuple[str, Answer]:
    """A synthetic but realistic turn: question, cited answer, two context chunks."""
    city = _CITIES[turn % len(_CITIES)]
    topic = _TOPICS[turn % len(_TOPICS)]
    q = f"What is the {topic} for the {city} Store number {turn}?"
    a = (
        f"The {topic} for the {city} Store number {turn} is {turn % 90 + 10} days, "
        f"according to the Acme Retail Handbook. Contact Maria Okafor for exceptions."
    )
    refs = (
        SourceRef("handbook.pdf", page=turn % 40 + 1),
        SourceRef("faq.mp4", start_s=60.0, end_s=75.5),
    )
    chunks = tuple(
        ScoredChunk(
            Chunk(
                id=chunk_id(f"doc{k}", turn % 50),
                doc_id=f"doc{k}",
                ordinal=turn % 50,
                # The chunk says what the answer says: a grounded turn, so it teaches.
                text=f"Section {turn % 50}. {a}",
                spans=(Span(0, 40, refs[k]),),
            ),
            0.8,
        )
        for k in range(2)
    )
    answer = Answer(
        text=a,
        citations=refs,
        context=chunks,
        cache_hit=False,
        cache=CacheDecision(False, 0.0, 0.5, "cold"),
        route=RouteDecision(Tier.SMALL, 0.8, 0.5, "ok", model="small"),
        tokens=TokenUsage(100, 30),
        cost_usd=0.0,
        timings={},
        session_id=session,
        question=q,
    )
    return q, answer


def turn_facts(session: str, turn: int) -> list[Fact]:
    q, a = make_turn(session, turn)
    return extract_facts(session_id=session, turn=turn, question=q, answer=a, now=1e9 + turn)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def direct_throughput(sink: Any, session: str, turns: int) -> dict[str, float]:
    facts = [f for t in range(turns) for f in turn_facts(session, t)]
    t0 = time.perf_counter()
    for i in range(0, len(facts), BATCH):
        await sink.write(facts[i : i + BATCH])
    seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    for i in range(0, len(facts), BATCH):  # the same facts again: a replay
        await sink.write(facts[i : i + BATCH])
    replay = time.perf_counter() - t0
    return {
        "facts": len(facts),
        "seconds": seconds,
        "facts_per_s": len(facts) / seconds,
        "replay_facts_per_s": len(facts) / replay,
    }


async def writer_run(
    sink: Any, outbox: Path, session: str, turns: int, *, gap_s: float
) -> dict[str, Any]:
    """Submit every turn like an ask path would, then flush; time submit and extraction.

    With ``gap_s == 0`` turns come back to back (a throughput test: the memory queue fills
    and submit() spills to the outbox on the caller's thread); with a gap, the writer runs
    between turns as it would beside a real ask path.
    """
    writer = BackgroundWriter(sink, outbox_dir=outbox, retry_initial_s=0.05, retry_max_s=0.5)
    writer.start()
    submit_ms: list[float] = []
    extract_ms: list[float] = []
    n = 0
    t_start = time.perf_counter()
    for t in range(turns):
        q, a = make_turn(session, t)
        t0 = time.perf_counter_ns()
        facts = extract_facts(session_id=session, turn=t, question=q, answer=a, now=1e9 + t)
        t1 = time.perf_counter_ns()
        writer.submit(facts)
        t2 = time.perf_counter_ns()
        extract_ms.append((t1 - t0) / 1e6)
        submit_ms.append((t2 - t1) / 1e6)
        n += len(facts)
        await asyncio.sleep(gap_s)
    await writer.flush()
    seconds = time.perf_counter() - t_start
    spilled = writer.stats.spilled
    await writer.aclose()
    return {
        "facts": n,
        "spilled_to_outbox_on_submit": spilled,
        "end_to_end_facts_per_s": n / seconds,
        "submit_ms": submit_ms,
        "extract_ms": extract_ms,
    }


async def count_graph(server: BoltServer, session: str) -> tuple[int, int, int]:
    """Fact nodes, distinct fact ids and MENTIONS edges of a session, counted on the server."""
    import neo4j

    async with (
        neo4j.AsyncGraphDatabase.driver(server.uri, auth=(server.user, server.password)) as drv,
        drv.session() as s,
    ):
        rec = await (
            await s.run(
                "MATCH (f:Fact) WHERE f.session_id = $s "
                "RETURN count(f) AS n, count(DISTINCT f.id) AS d",
                s=session,
            )
        ).single()
        assert rec is not None
        edges = await (
            await s.run(
                "MATCH (f:Fact)-[r:MENTIONS]->(:Entity) WHERE f.session_id = $s "
                "RETURN count(r) AS n",
                s=session,
            )
        ).single()
        assert edges is not None
        return int(rec["n"]), int(rec["d"]), int(edges["n"])


async def fault_run(server: BoltServer, outbox: Path) -> dict[str, Any]:
    """1,000 turns; the server is SIGKILLed at KILL_AT and restarted at RESTART_AT."""
    session = "fault"
    sink = Neo4jGraphSink(server.uri, server.user, server.password, connect_timeout_s=1.0)
    writer = BackgroundWriter(sink, outbox_dir=outbox, retry_initial_s=0.05, retry_max_s=0.5)
    writer.start()
    expected: set[str] = set()
    expected_edges = 0
    submitted = 0
    submit_ms: list[float] = []
    restart: asyncio.Task[BoltServer] | None = None
    t_start = time.perf_counter()
    for t in range(TURNS):
        if t == KILL_AT:
            server.kill()
        if t == RESTART_AT:
            restart = asyncio.create_task(asyncio.to_thread(server.start))
        facts = turn_facts(session, t)
        expected |= {f.id for f in facts}
        submitted += len(facts)
        t0 = time.perf_counter_ns()
        writer.submit(facts)
        submit_ms.append((time.perf_counter_ns() - t0) / 1e6)
        await asyncio.sleep(TURN_GAP_S)
    if restart is not None:
        await restart
    await writer.flush()
    drain_s = time.perf_counter() - t_start
    stats = writer.stats
    await writer.aclose()
    stored = {f.id for f in await sink.get(sorted(expected))}
    nodes, distinct, edges = await count_graph(server, session_key(session))
    await sink.close()
    return {
        "turns": TURNS,
        "killed_at_turn": KILL_AT,
        "restarted_at_turn": RESTART_AT,
        "facts_submitted": submitted,
        "facts_expected_distinct": len(expected),
        "facts_stored": len(stored),
        "lost": len(expected - stored),
        "duplicated_nodes": nodes - distinct,
        "mentions_edges_expected": expected_edges,
        "mentions_edges_stored": edges,
        "failed_store_writes": stats.failures,
        "seconds_until_all_delivered": drain_s,
        "submit_p99_ms": pct(submit_ms, 99),
        "submit_max_ms": max(submit_ms),
    }


_KILLED_CHILD = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    sys.path.insert(0, {here!r})
    from knowledge import turn_facts
    from contextual_avatar.knowledge import BackgroundWriter, Neo4jGraphSink

    async def main():
        sink = Neo4jGraphSink("bolt://127.0.0.1:{port}", "u", "password", connect_timeout_s=0.2)
        writer = BackgroundWriter(sink, outbox_dir={outbox!r}, retry_initial_s=0.01,
                                  retry_max_s=0.05).start()
        for turn in range({turns}):
            writer.submit(turn_facts("killed", turn))
        await writer.checkpoint()
        print(writer.stats.acknowledged, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)

    asyncio.run(main())
    """
)


async def killed_writer_run(tmp: Path) -> dict[str, Any]:
    """A writer process is SIGKILLed with the store down; a new writer replays its outbox."""
    outbox = tmp / "killed-outbox"
    code = _KILLED_CHILD.format(
        here=str(Path(__file__).parent), port=free_port(), outbox=str(outbox), turns=TURNS
    )
    proc = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    if proc.returncode != -9 or not proc.stdout.strip():
        raise RuntimeError(f"the writer child did not reach its SIGKILL:\n{proc.stderr[-2000:]}")
    acknowledged = int(proc.stdout.strip())
    sink = SQLiteGraphSink(tmp / "killed.sqlite3")
    writer = BackgroundWriter(sink, outbox_dir=outbox).start()
    await writer.flush()
    await writer.aclose()
    expected = {f.id for t in range(TURNS) for f in turn_facts("killed", t)}
    stored = {f.id for f in await sink.get(sorted(expected))}
    count = await sink.count(session_prefix=session_key("killed"))
    await sink.close()
    return {
        "child_exit_code": proc.returncode,
        "facts_acknowledged": acknowledged,
        "facts_expected_distinct": len(expected),
        "lost": len(expected - stored),
        "duplicated": count - len(stored),
    }


async def related_latency(sink: Any, queries: int = 200) -> dict[str, float]:
    times: list[float] = []
    hits = 0
    for i in range(queries):
        q, _ = make_turn("other", (i * 37) % TURNS)
        t0 = time.perf_counter()
        found = await sink.related(q, limit=10, collection="default")
        times.append((time.perf_counter() - t0) * 1000)
        hits += bool(found)
    return {
        "queries": queries,
        "p50_ms": statistics.median(times),
        "p99_ms": pct(times, 99),
        "with_results": hits,
    }


async def main() -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "turns": TURNS,
        "facts_per_turn": len(turn_facts("x", 1)),
    }
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        server = BoltServer(tmp / "bolt").start()
        try:
            sinks: dict[str, Any] = {
                "sqlite": SQLiteGraphSink(tmp / "kg.sqlite3"),
                "neo4j (ArcadeDB Bolt)": Neo4jGraphSink(server.uri, server.user, server.password),
            }
            if os.environ.get("NEO4J_URI"):
                sinks["neo4j (NEO4J_URI)"] = Neo4jGraphSink(
                    os.environ["NEO4J_URI"],
                    os.environ.get("NEO4J_USER", "neo4j"),
                    os.environ.get("NEO4J_PASSWORD", ""),
                    os.environ.get("NEO4J_DATABASE") or None,
                )
            per_sink: dict[str, Any] = {}
            for name, sink in sinks.items():
                direct = await direct_throughput(sink, f"bench-direct-{name}", TURNS)
                k = len(per_sink)
                burst = await writer_run(sink, tmp / f"ob-{k}-a", "bench-burst", TURNS, gap_s=0)
                run = await writer_run(
                    sink, tmp / f"ob-{k}-b", "bench-paced", TURNS, gap_s=TURN_GAP_S
                )
                rel = await related_latency(sink)
                per_sink[name] = {
                    "direct": direct,
                    "writer_end_to_end_facts_per_s": burst["end_to_end_facts_per_s"],
                    "burst_submit_ms": {
                        "p50": statistics.median(burst["submit_ms"]),
                        "p99": pct(burst["submit_ms"], 99),
                        "max": max(burst["submit_ms"]),
                        "spilled_facts": burst["spilled_to_outbox_on_submit"],
                    },
                    "submit_turn_gap_ms": TURN_GAP_S * 1000,
                    "submit_ms": {
                        "p50": statistics.median(run["submit_ms"]),
                        "p99": pct(run["submit_ms"], 99),
                        "max": max(run["submit_ms"]),
                    },
                    "extract_ms": {
                        "p50": statistics.median(run["extract_ms"]),
                        "p99": pct(run["extract_ms"], 99),
                    },
                    "related": rel,
                    "_submit_samples": run["submit_ms"],
                }
                await sink.close()
            results["sinks"] = per_sink
            results["fault_run"] = await fault_run(server, tmp / "fault-outbox")
            results["killed_writer"] = await killed_writer_run(tmp)
        finally:
            server.kill()

    samples = {k: v.pop("_submit_samples") for k, v in results["sinks"].items()}
    print_table(results)
    (RESULTS / "knowledge.json").write_text(json.dumps(results, indent=2) + "\n")
    plot(results, samples)
    print(f"\nwrote {RESULTS / 'knowledge.json'} and {RESULTS / 'knowledge.png'}")


def print_table(r: dict[str, Any]) -> None:
    print(f"\n{r['turns']} turns, {r['facts_per_turn']} facts per turn\n")
    head = (
        f"{'sink':24} {'write f/s':>10} {'replay f/s':>11} {'writer f/s':>11} "
        f"{'submit p50':>11} {'submit p99':>11} {'related p50':>12} {'related p99':>12}"
    )
    print(head)
    print("-" * len(head))
    for name, s in r["sinks"].items():
        print(
            f"{name:24} {s['direct']['facts_per_s']:>10.0f} "
            f"{s['direct']['replay_facts_per_s']:>11.0f} "
            f"{s['writer_end_to_end_facts_per_s']:>11.0f} "
            f"{s['submit_ms']['p50'] * 1000:>9.1f}us {s['submit_ms']['p99'] * 1000:>9.1f}us "
            f"{s['related']['p50_ms']:>10.2f}ms {s['related']['p99_ms']:>10.2f}ms"
        )
    print(
        f"(submit timed with the ask path pausing {TURN_GAP_S * 1000:.0f} ms between turns; "
        "back to back, the queue fills and submit spills to disk:"
    )
    for name, s in r["sinks"].items():
        b = s["burst_submit_ms"]
        print(
            f"   {name}: burst submit p50 {b['p50'] * 1000:.1f} us, p99 {b['p99'] * 1000:.0f} us, "
            f"{b['spilled_facts']} facts spilled)"
        )
    first = next(iter(r["sinks"].values()))
    print(
        f"\nextract_facts per turn: p50 {first['extract_ms']['p50']:.3f} ms, "
        f"p99 {first['extract_ms']['p99']:.3f} ms"
    )
    f = r["fault_run"]
    print(
        f"\nfault run (Bolt server SIGKILLed at turn {f['killed_at_turn']}, restarted at "
        f"{f['restarted_at_turn']}): {f['facts_expected_distinct']} facts, lost {f['lost']}, "
        f"duplicated nodes {f['duplicated_nodes']}, MENTIONS edges "
        f"{f['mentions_edges_stored']}/{f['mentions_edges_expected']} expected, "
        f"failed store writes retried "
        f"{f['failed_store_writes']}, submit p99 {f['submit_p99_ms'] * 1000:.1f} us"
    )
    k = r["killed_writer"]
    print(
        f"writer process SIGKILLed after acknowledging {k['facts_acknowledged']} facts "
        f"(exit {k['child_exit_code']}): lost {k['lost']}, duplicated {k['duplicated']}"
    )


def plot(r: dict[str, Any], samples: dict[str, list[float]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(r["sinks"])
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    ax = axes[0]
    xs = range(len(names))
    ax.bar(
        [x - 0.27 for x in xs],
        [r["sinks"][n]["direct"]["facts_per_s"] for n in names],
        0.27,
        label="write",
    )
    ax.bar(
        list(xs),
        [r["sinks"][n]["direct"]["replay_facts_per_s"] for n in names],
        0.27,
        label="replay (idempotent)",
    )
    ax.bar(
        [x + 0.27 for x in xs],
        [r["sinks"][n]["writer_end_to_end_facts_per_s"] for n in names],
        0.27,
        label="via writer",
    )
    ax.set_xticks(list(xs), names, fontsize=8)
    ax.set_ylabel("facts / s")
    ax.set_title("write throughput")
    ax.legend(fontsize=8)

    ax = axes[1]
    for n in names:
        us = sorted(v * 1000 for v in samples[n])
        ax.plot(us, [i / len(us) for i in range(len(us))], label=n)
    ax.axvline(100, color="red", linestyle="--", label="target p99 100 us")
    ax.set_xscale("log")
    ax.set_xlabel("submit() per turn (us)")
    ax.set_ylabel("CDF")
    ax.set_title("ask-path cost of knowledge writes")
    ax.legend(fontsize=8)

    ax = axes[2]
    ax.bar(xs, [r["sinks"][n]["related"]["p50_ms"] for n in names], 0.4, label="p50")
    ax.bar(
        [x + 0.4 for x in xs], [r["sinks"][n]["related"]["p99_ms"] for n in names], 0.4, label="p99"
    )
    ax.set_xticks([x + 0.2 for x in xs], names, fontsize=8)
    ax.set_ylabel("ms")
    f = r["fault_run"]
    ax.set_title(
        f"related() latency\nfault run: lost {f['lost']}, duplicated {f['duplicated_nodes']}",
        fontsize=10,
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(RESULTS / "knowledge.png", dpi=110)


if __name__ == "__main__":
    asyncio.run(main())
