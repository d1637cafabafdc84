"""Live updates: publish-to-visible latency in other answering processes, and failed asks.

A data folder is seeded with CoQA dev passages (``../shared/data/coqa-dev.json``, real
documents). Answering processes (``--answerers``, each a fresh interpreter with its own
engine on the same folder) then ask in a loop, a fresh session per turn, while this
process ingests more passages one at a time, ``--gap`` seconds apart. Each answerer asks
about the next passage it has not seen yet (the passage's opening words) and records when
the first ask whose context holds it started and returned. The latency of a publish in a
process is that start minus the publish (the mtime of the ``CURRENT`` pointer the ingest
switched); the answer arrives one ask later (``answered_*``). Every exception an ask
raises is a failed ask. The target is <= 2 s and 0 failures.

At scale (``--sizes``, default 0, 10,000 and 100,000 chunks): before the answerers start,
the collection is grown to that many chunks of real text with real MiniLM vectors, as
``index_scale.py`` builds its sets (the replay caches' text -> MiniLM vector pairs, then
copies of them with small perturbations of the vector, grouped ten to a document; texts
of the passages to be published are left out). Per size it also times what a process
pays per publish: ``full_load_s`` (opening the collection: every reload before deltas)
against ``delta_apply_s`` (following one more publish by its delta). Timings on the
shared 2-core machine are noisy; the 1-minute load average is recorded.

    .venv/bin/python benchmarks/live_update.py [--sizes 0 10000 100000] [--publishes 8]
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
for _path in (HERE.parent / "src", HERE.parent):  # run as a script from a checkout
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))
COQA = HERE.parent.parent / "shared" / "data" / "coqa-dev.json"
OPENING_WORDS = 25


def _engine(data_dir: Path) -> Any:
    import contextual_avatar as ca

    return ca.AsyncContextEngine(ca.EngineConfig(data_dir=data_dir, knowledge={"backend": "none"}))


def _opening(text: str) -> str:
    return " ".join(text.split()[:OPENING_WORDS])


# -- the answering process ---------------------------------------------------------------


async def _answer(data_dir: Path, targets: list[list[str]], stop: Path) -> None:
    """Ask about each planned passage in turn until seen; print JSON lines."""
    engine = _engine(data_dir)
    async with engine:
        await engine.ask("warm-up", "Who is this about?")
        print(json.dumps({"ready": time.time()}), flush=True)
        k, turn = 0, 0
        deadline = time.monotonic() + 600
        while k < len(targets) and time.monotonic() < deadline:
            if await asyncio.to_thread(stop.exists):
                break
            turn += 1
            name, question = targets[k]
            asked = time.time()
            try:
                answer = await engine.ask(f"t{turn}", question)
            except Exception as exc:  # a failed ask is what this measures
                print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}), flush=True)
                continue
            if name in {c.chunk.refs[0].source for c in answer.context if c.chunk.refs}:
                seen = {"seen": name, "asked": asked, "t": time.time(), "turn": turn}
                print(json.dumps(seen), flush=True)
                k += 1
            await asyncio.sleep(0.02)
        print(json.dumps({"asks": turn}), flush=True)


# -- the benchmark -----------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=int, default=30, help="passages ingested first")
    parser.add_argument("--publishes", type=int, default=8)
    parser.add_argument("--answerers", type=int, default=2)
    parser.add_argument("--gap", type=float, default=2.5, help="seconds between publishes")
    parser.add_argument("--coqa", type=Path, default=COQA)
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[0, 10_000, 100_000],
        help="chunks to grow the collection to before publishing (0: the passages only)",
    )  # fmt: skip
    parser.add_argument(
        "--child", nargs=3, metavar=("DATA", "PLAN", "STOP"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        data, plan, stop = map(Path, args.child)
        asyncio.run(_answer(data, json.loads(plan.read_text(encoding="utf-8")), stop))
        return

    stories = json.loads(args.coqa.read_text(encoding="utf-8"))["data"]
    stories = stories[: args.base + args.publishes]
    runs = []
    for size in args.sizes:
        runs.append(_run(stories, size, args))
        print(_table(runs[-1]), flush=True)
    result = {
        "machine": runs[0]["machine"],
        "date": runs[0]["date"],
        "target_s": 2.0,
        "by_size": [_row(r) for r in runs],
        "latency_by_publish": {str(r["chunks_after"]): r["latency_by_publish"] for r in runs},
    }
    out = HERE / "results" / "live_update.json"
    out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    _plot(runs, HERE / "results" / "live_update.png")
    print(f"wrote {out} and live_update.png")


FIRST = [  # the columns the docs table shows (it keeps the first 12)
    "chunks_after", "dense_kind", "visible_p50_s", "visible_p90_s", "visible_max_s",
    "failed_asks", "asks", "never_seen", "full_load_s", "delta_apply_s", "load_avg_1m",
    "answered_p50_s",
]  # fmt: skip


def _row(r: dict[str, Any]) -> dict[str, Any]:
    """One size's figures, the important ones first (per-run metadata is at the top)."""
    rest = {
        k: v for k, v in r.items() if k not in (*FIRST, "latency_by_publish", "machine", "date")
    }
    return {**{k: r.get(k) for k in FIRST}, **rest}


def _run(stories: list[dict[str, Any]], size: int, args: Any) -> dict[str, Any]:
    """One size: seed, grow to ``size`` chunks, publish with answerers asking."""
    loads = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        files = []
        for story in stories:
            path = root / f"{story['id']}.txt"
            path.write_text(story["story"], encoding="utf-8")
            files.append(path)
        base, new = files[: args.base], files[args.base :]
        data = root / "data"
        plan = root / "plan.json"
        plan.write_text(
            json.dumps([[p.name, _opening(p.read_text(encoding="utf-8"))] for p in new]),
            encoding="utf-8",
        )
        published, ingest_s, chunks, reports, costs = asyncio.run(
            _publish(data, base, new, plan, root / "stop", args, size)
        )
        loads.append(os.getloadavg()[0])
    result = _summarise(published, reports, ingest_s, chunks, args, loads)
    return {"grown_to": size, **result, **costs}


async def _publish(
    data: Path, base: list[Path], new: list[Path], plan: Path, stop: Path, args: Any, size: int
) -> tuple[dict[str, float], list[float], int, list[list[dict[str, Any]]], dict[str, float]]:
    """Seed, start the answerers, publish ``new`` one by one; collect their reports."""
    async with _engine(data) as seeder:
        for path in base:
            await seeder.ingest(path)
    if size:
        texts = [p.read_text(encoding="utf-8") for p in new]
        await asyncio.to_thread(_grow, data / "index", size, texts)
    engine = _engine(data)
    async with engine:
        command = [sys.executable, __file__, "--child", str(data), str(plan), str(stop)]
        procs = [_spawn(command) for _ in range(args.answerers)]
        for proc in procs:
            assert proc.stdout is not None
            json.loads(await asyncio.to_thread(proc.stdout.readline))  # ready
        published: dict[str, float] = {}
        ingest_s = []
        for path in new:
            await asyncio.sleep(args.gap)
            started = time.perf_counter()
            await engine.ingest(path)
            ingest_s.append(time.perf_counter() - started)
            published[path.name] = (data / "index" / "CURRENT").stat().st_mtime
        await asyncio.sleep(args.gap)
        await asyncio.to_thread(stop.touch)
        chunks = sum(d.chunks for d in engine.documents)
    reports = []
    for proc in procs:
        out, _ = await asyncio.to_thread(proc.communicate, timeout=300)
        reports.append([json.loads(line) for line in out.splitlines() if line.strip()])
    costs = await asyncio.to_thread(_costs, data / "index")
    return published, ingest_s, chunks, reports, costs


def _spawn(command: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True)


def _real_pairs(exclude: list[str]) -> tuple[list[str], Any]:
    """Real texts and their MiniLM vectors from the replay caches (see ``index_scale.py``)."""
    from benchmarks._vectors import replay_vectors

    pairs = replay_vectors()
    if len(pairs) < 5000:
        raise SystemExit("no replay caches: run benchmarks/replay.py first (see index_scale.py)")
    keys = {" ".join(t.split()[:8]) for t in exclude}
    kept = [
        t
        for t in pairs
        if len(t) > 40 and not any(t in e for e in exclude) and not any(k in t for k in keys)
    ]
    return kept, np.asarray([pairs[t] for t in kept], np.float32)


def _grow(folder: Path, size: int, exclude: list[str]) -> None:
    """Grow the collection to ``size`` chunks: real texts, real vectors perturbed (no model)."""
    import uuid
    from dataclasses import asdict

    from benchmarks._vectors import grow
    from contextual_avatar.retrieval import BM25Index, DocRecord, FaissIndex, RetrievalConfig
    from contextual_avatar.retrieval._files import read_meta
    from contextual_avatar.retrieval._journal import load_index
    from contextual_avatar.types import Chunk, SourceRef, Span

    current = FaissIndex.current_version(folder)
    assert current is not None
    meta = read_meta(current)
    index = load_index(
        folder, dim=meta["dim"], embedder=meta["embedder"], spec=RetrievalConfig().dense_spec()
    )
    texts, real = _real_pairs(exclude)
    n = size - len(index)
    vectors = grow(real, n, noise=0.02)
    chunks, records = [], [asdict(r) for r in index.records]
    for row in range(n):
        doc, ordinal = divmod(row, 10)
        name = f"seed{doc:06d}.txt"
        text = texts[row % len(texts)]
        span = (Span(0, len(text), SourceRef(name)),)
        chunks.append(Chunk(f"seed{doc:06d}:{ordinal}", f"seed{doc:06d}", ordinal, text, span))
        if ordinal == 0:
            count = min(10, n - row)
            records.append(
                asdict(DocRecord(f"seed{doc:06d}", f"/seed/{name}", name, "text", count, 0.0))
            )
    started = time.perf_counter()
    index.append(chunks, vectors)
    index.set_records({"docs": records})
    lexical = BM25Index().with_chunks(index.chunks)
    index.save(
        folder, extra=lexical.save, meta_extra={"chain": {"base": uuid.uuid4().hex, "deltas": []}}
    )
    print(
        f"grew to {len(index)} chunks ({index.dense_kind}) in {time.perf_counter() - started:.0f} s",
        flush=True,
    )


def _costs(folder: Path) -> dict[str, Any]:
    """Per process and publish: a full load (the old reload) against following one delta."""
    from contextual_avatar.retrieval import Corpus, DocRecord, FaissIndex, RetrievalConfig
    from contextual_avatar.retrieval._files import read_meta
    from contextual_avatar.types import Chunk, SourceRef, Span

    current = FaissIndex.current_version(folder)
    assert current is not None
    meta = read_meta(current)

    def corpus() -> Any:
        return Corpus(
            folder, RetrievalConfig(), dim=meta["dim"], embedder=meta["embedder"], refresh_s=0.0
        )

    started = time.perf_counter()
    reader = corpus()
    full = time.perf_counter() - started
    writer = corpus()
    index = reader.index
    some = index.chunks[:5]
    chunks = [
        Chunk(f"probe:{i}", "probe", i, c.text, (Span(0, 1, SourceRef("probe.txt")),))
        for i, c in enumerate(some)
    ]
    record = DocRecord("probe", "/probe.txt", "probe.txt", "text", 5, 0.0)
    writer.add_document(chunks, index.vectors_for([c.id for c in some]), record)
    started = time.perf_counter()
    reader.reload()
    delta = time.perf_counter() - started
    assert reader.current.version == writer.current.version
    assert reader.index.chunk("probe:0") is not None
    kind = reader.index.dense_kind
    return {"full_load_s": round(full, 3), "delta_apply_s": round(delta, 4), "dense_kind": kind}


def _summarise(
    published: dict[str, float],
    reports: list[list[dict[str, Any]]],
    ingest_s: list[float],
    chunks: int,
    args: Any,
    loads: list[float],
) -> dict[str, Any]:
    latencies: list[list[float | None]] = []
    answered: list[float] = []
    failed = asks = 0
    for lines in reports:
        seen = {r["seen"]: r["asked"] for r in lines if "seen" in r}
        answered += [r["t"] - published[r["seen"]] for r in lines if "seen" in r]
        failed += sum(1 for r in lines if "error" in r)
        asks += sum(r.get("asks", 0) for r in lines)
        latencies.append(
            [seen[name] - when if name in seen else None for name, when in published.items()]
        )
    flat = [x for row in latencies for x in row if x is not None]
    missing = sum(1 for row in latencies for x in row if x is None)
    return {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d"),
        "load_avg_1m": [round(x, 2) for x in loads],
        "base_passages": args.base,
        "chunks_after": chunks,
        "publishes": len(published),
        "answering_processes": args.answerers,
        "asks": asks,
        "failed_asks": failed,
        "never_seen": missing,
        "visible_p50_s": float(np.percentile(flat, 50)) if flat else None,
        "visible_p90_s": float(np.percentile(flat, 90)) if flat else None,
        "visible_max_s": max(flat) if flat else None,
        "answered_p50_s": float(np.percentile(answered, 50)) if answered else None,
        "answered_max_s": max(answered) if answered else None,
        "ingest_p50_s": float(np.percentile(ingest_s, 50)) if ingest_s else None,
        "target_s": 2.0,
        "latency_by_publish": latencies,
    }


def _table(r: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"{r['chunks_after']} chunks ({r.get('dense_kind')}): {r['publishes']} publishes x "
            f"{r['answering_processes']} answering processes, load {r['load_avg_1m']}",
            f"visible after publish: p50 {r['visible_p50_s']:.3f} s, p90 "
            f"{r['visible_p90_s']:.3f} s, max {r['visible_max_s']:.3f} s (target <= 2 s)",
            f"answered from it: p50 {r['answered_p50_s']:.3f} s, max {r['answered_max_s']:.3f} s",
            f"asks {r['asks']}, failed {r['failed_asks']}, never seen {r['never_seen']}; "
            f"ingest p50 {r['ingest_p50_s']:.2f} s",
            f"per process and publish: full load {r['full_load_s']:.2f} s, delta "
            f"{r['delta_apply_s']:.3f} s",
        ]
    )


def _plot(runs: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 3.5))
    for r in runs:
        for i, row in enumerate(r["latency_by_publish"]):
            xs = [k + 1 for k, v in enumerate(row) if v is not None]
            label = f"{r['chunks_after']:,} chunks" if i == 0 else None
            ax.plot(xs, [v for v in row if v is not None], "o-", alpha=0.7, label=label,
                    color=f"C{runs.index(r)}")  # fmt: skip
    ax.axhline(runs[0]["target_s"], color="red", linestyle="--", label="target")
    ax.set_xlabel("publish")
    ax.set_ylabel("seconds until answered from")
    ax.set_title("Live update: publish to visible in other processes")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
