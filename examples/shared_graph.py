"""Two avatars in two processes share one knowledge graph.

Each process answers a turn about a different subject, hands the turn's facts to a
``BackgroundWriter`` (the ask path pays microseconds), flushes, and then asks about what the
*other* avatar was taught: ``related()`` finds it. The graph is one SQLite file; when
``NEO4J_URI`` (with ``NEO4J_USER`` / ``NEO4J_PASSWORD``) is set, the same runs against Neo4j.

Run: ``python examples/shared_graph.py`` (no arguments; exits 0 when each avatar saw the other's
fact).
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import sys
import tempfile
import time
from pathlib import Path

from contextual_avatar.knowledge import (
    ANSWERED,
    BackgroundWriter,
    KnowledgeGraphSink,
    Neo4jGraphSink,
    SQLiteGraphSink,
    extract_facts,
    format_fact,
)
from contextual_avatar.testing import make_answer
from contextual_avatar.types import SourceRef

TEACH = {
    "avatar-a": (
        "What is the refund window at the Lisbon Store?",
        "The Lisbon Store accepts refunds within 45 days of delivery.",
        SourceRef("returns-policy.pdf", page=4),
    ),
    "avatar-b": (
        "Who maintains the Osaka Warehouse robots?",
        "Kenji Watanabe's team maintains the Osaka Warehouse robots on Tuesdays.",
        SourceRef("ops-briefing.mp4", start_s=192.0, end_s=221.0),
    ),
}
ASK = {
    "avatar-a": "Who looks after the robots in the Osaka Warehouse?",
    "avatar-b": "How long is the refund window at the Lisbon Store?",
}


def open_sink(backend: str, graph: str) -> KnowledgeGraphSink:
    if backend == "neo4j":
        return Neo4jGraphSink(
            os.environ["NEO4J_URI"],
            os.environ.get("NEO4J_USER", "neo4j"),
            os.environ.get("NEO4J_PASSWORD", ""),
            os.environ.get("NEO4J_DATABASE") or None,
        )
    return SQLiteGraphSink(graph)


async def avatar(
    name: str, run: str, backend: str, graph: str, workdir: str, barrier: mp.Barrier
) -> bool:
    session = f"{name}-{run}"
    other = next(n for n in TEACH if n != name)
    sink = open_sink(backend, graph)
    writer = BackgroundWriter(sink, outbox_dir=Path(workdir) / f"outbox-{name}").start()

    question, text, ref = TEACH[name]
    facts = extract_facts(
        session_id=session,
        turn=1,
        question=question,
        answer=make_answer(question, text, session_id=session, context=[(text, ref)], score=0.82),
        now=time.time(),
    )
    t0 = time.perf_counter_ns()
    writer.submit(facts)  # what the ask path pays
    cost_us = (time.perf_counter_ns() - t0) / 1000
    await writer.flush()
    print(f"[{name}] taught {len(facts)} facts (submit took {cost_us:.1f} us)", flush=True)

    await asyncio.to_thread(barrier.wait)  # both avatars have written
    found = await sink.related(ASK[name], limit=3, exclude_session=session)
    learned = [f for f in found if f.predicate == ANSWERED and f.session_id == f"{other}-{run}"]
    for fact in found:
        print(f"[{name}] related: {format_fact(fact)}", flush=True)
    await writer.aclose()
    await sink.close()
    return bool(learned) and learned[0].object == TEACH[other][1]


def run_avatar(
    name: str, run: str, backend: str, graph: str, workdir: str, barrier: mp.Barrier
) -> None:
    ok = asyncio.run(avatar(name, run, backend, graph, workdir, barrier))
    sys.exit(0 if ok else 1)


def share(backend: str, workdir: str) -> bool:
    graph = str(Path(workdir) / "knowledge.sqlite3")
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(2)
    run = f"{os.getpid()}-{time.time_ns()}"  # keeps repeated runs on one Neo4j apart
    procs = [
        ctx.Process(target=run_avatar, args=(name, run, backend, graph, workdir, barrier))
        for name in TEACH
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    codes = [p.exitcode for p in procs]
    print(f"{backend}: exit codes {codes}")
    return codes == [0, 0]


def main() -> int:
    backends = ["sqlite"] + (["neo4j"] if os.environ.get("NEO4J_URI") else [])
    with tempfile.TemporaryDirectory() as workdir:
        results = [share(b, str(Path(workdir) / b)) for b in backends]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
