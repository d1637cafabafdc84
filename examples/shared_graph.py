"""Two avatars in two processes share one knowledge graph, and nothing of their callers.

Each process answers a grounded turn about a different subject, hands what the turn taught
to a ``BackgroundWriter`` (the ask path pays microseconds), flushes, and then asks about what
the *other* avatar was taught: ``related()`` returns the id of the document chunk that
answered it, never the other caller's question, answer or session. A turn whose answer the
source does not support teaches nothing. The graph is one SQLite file; when ``NEO4J_URI``
(with ``NEO4J_USER`` / ``NEO4J_PASSWORD``) is set, the same runs against Neo4j.

Run: ``python examples/shared_graph.py`` (no arguments; exits 0 when each avatar found the
other's chunk and nothing else).
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
    BackgroundWriter,
    KnowledgeGraphSink,
    Neo4jGraphSink,
    SQLiteGraphSink,
    extract_facts,
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

    collection = f"shop-{run}"  # one knowledge base per run keeps repeated runs apart
    question, text, ref = TEACH[name]
    taught = make_answer(question, text, session_id=session, context=[(text, ref)], score=0.8)
    facts = extract_facts(
        session_id=session,
        turn=1,
        question=question,
        answer=taught,
        now=time.time(),
        collection=collection,
    )
    # A false claim the source does not support teaches nothing.
    lie = make_answer(question, "Everything is free today.", context=[(text, ref)], score=0.8)
    assert not extract_facts(session_id=session, turn=2, question=question, answer=lie, now=0.0)
    t0 = time.perf_counter_ns()
    writer.submit(facts)  # what the ask path pays
    cost_us = (time.perf_counter_ns() - t0) / 1000
    await writer.flush()
    print(f"[{name}] taught {len(facts)} facts (submit took {cost_us:.1f} us)", flush=True)
    mine = Path(workdir) / f"{name}.chunk"  # tells the other process what to expect
    await asyncio.to_thread(mine.write_text, taught.context[0].chunk.id)

    await asyncio.to_thread(barrier.wait)  # both avatars have written
    theirs = await asyncio.to_thread((Path(workdir) / f"{other}.chunk").read_text)
    found = await sink.related(ASK[name], limit=3, collection=collection, exclude_session=session)
    for fact in found:
        print(f"[{name}] related: chunk {fact.object[:16]}... {fact.sources}", flush=True)
    private = all(f.session_id == "" for f in found) and other not in repr(found)
    await asyncio.to_thread(barrier.wait)  # both avatars have read before either forgets
    await sink.forget(session)  # what this avatar's caller taught is deleted with it
    await writer.aclose()
    await sink.close()
    return private and [f.object for f in found] == [theirs]


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
