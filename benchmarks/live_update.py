"""Live updates: publish-to-visible latency in other answering processes, and failed asks.

A data folder is seeded with CoQA dev passages (``../shared/data/coqa-dev.json``, real
documents). Answering processes (``--answerers``, each a fresh interpreter with its own
engine on the same folder) then ask in a loop, a fresh session per turn, while this
process ingests more passages one at a time, ``--gap`` seconds apart. Each answerer asks
about the next passage it has not seen yet (the passage's opening words) and records when
the first ask whose context holds it started and returned. The latency of a publish in a
process is that start minus the publish (the mtime of the ``CURRENT`` pointer the ingest
switched): from then on, asks answer from the new version; the answer itself arrives one
ask duration later (reported too, as ``answered_*``).
Every exception an ask raises is a failed ask. The target is <= 2 s and 0 failures.

Timings on the shared 2-core machine are noisy; the 1-minute load average is recorded.

    .venv/bin/python benchmarks/live_update.py [--base 30] [--publishes 8] [--answerers 2]
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
        "--child", nargs=3, metavar=("DATA", "PLAN", "STOP"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        data, plan, stop = map(Path, args.child)
        asyncio.run(_answer(data, json.loads(plan.read_text(encoding="utf-8")), stop))
        return

    stories = json.loads(args.coqa.read_text(encoding="utf-8"))["data"]
    stories = stories[: args.base + args.publishes]
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
        published, ingest_s, chunks, reports = asyncio.run(
            _publish(data, base, new, plan, root / "stop", args)
        )
        loads.append(os.getloadavg()[0])
    result = _summarise(published, reports, ingest_s, chunks, args, loads)
    out = HERE / "results" / "live_update.json"
    out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(_table(result))
    _plot(result, HERE / "results" / "live_update.png")
    print(f"wrote {out} and live_update.png")


async def _publish(
    data: Path, base: list[Path], new: list[Path], plan: Path, stop: Path, args: Any
) -> tuple[dict[str, float], list[float], int, list[list[dict[str, Any]]]]:
    """Seed, start the answerers, publish ``new`` one by one; collect their reports."""
    engine = _engine(data)
    async with engine:
        for path in base:
            await engine.ingest(path)
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
        out, _ = await asyncio.to_thread(proc.communicate, timeout=120)
        reports.append([json.loads(line) for line in out.splitlines() if line.strip()])
    return published, ingest_s, chunks, reports


def _spawn(command: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True)


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
            f"{r['publishes']} publishes x {r['answering_processes']} answering processes, "
            f"{r['chunks_after']} chunks, load {r['load_avg_1m']}",
            f"visible after publish: p50 {r['visible_p50_s']:.3f} s, p90 "
            f"{r['visible_p90_s']:.3f} s, max {r['visible_max_s']:.3f} s (target <= 2 s)",
            f"answered from it: p50 {r['answered_p50_s']:.3f} s, max {r['answered_max_s']:.3f} s",
            f"asks {r['asks']}, failed {r['failed_asks']}, never seen {r['never_seen']}; "
            f"ingest p50 {r['ingest_p50_s']:.2f} s",
        ]
    )


def _plot(r: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for i, row in enumerate(r["latency_by_publish"]):
        xs = [k + 1 for k, v in enumerate(row) if v is not None]
        ax.plot(xs, [v for v in row if v is not None], "o-", label=f"process {i + 1}")
    ax.axhline(r["target_s"], color="red", linestyle="--", label="target")
    ax.set_xlabel("publish")
    ax.set_ylabel("seconds until answered from")
    ax.set_title("Live update: publish to visible in other processes")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
