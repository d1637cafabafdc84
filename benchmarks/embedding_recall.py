"""Dev-set retrieval recall with the ONNX embedders (float and int8) against torch.

The same replay as ``benchmarks/retrieval.py`` (CoQA dev, all 300 passages in one index,
the default engine with the session cache off so every turn is retrieved), once with each
runtime, each with its own index and embedding memo. Reports context recall and MRR per
scenario and the difference in points (target: within 0.5; the int8 model may be the
default only if it meets it).

    .venv/bin/python benchmarks/embedding_recall.py [--conversations 60] [--runtimes ...]

Writes ``benchmarks/results/embedding_recall.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.replay import CACHE_DIR, DEFAULT_COQA, CachingEmbedder, Replay  # noqa: E402
from benchmarks.retrieval import replay_variant  # noqa: E402

RESULTS = HERE / "results"
SCENARIOS = ("single", "meeting")
RUNTIMES = ("torch", "onnx", "onnx-int8")


async def _run(args: argparse.Namespace) -> dict[str, Any]:
    from contextual_avatar.retrieval import EmbedderConfig, build_embedder

    out: dict[str, Any] = {}
    for runtime in args.runtimes:
        inner = build_embedder(
            EmbedderConfig(runtime=runtime.split("-")[0], quantize=runtime.endswith("-int8"))
        )
        if runtime == "torch":  # the memo and index benchmarks/retrieval.py keeps
            cache = args.cache_dir
            digest = hashlib.sha256(inner.name.encode()).hexdigest()[:12]
            embedder = CachingEmbedder(inner, path=cache / f"emb-{digest}.pkl")
        else:  # its own: the ONNX embedder has the same name, its vectors must be its own
            cache = args.cache_dir / f"runtime-{runtime}"
            cache.mkdir(parents=True, exist_ok=True)
            embedder = CachingEmbedder(inner, path=cache / f"emb-{runtime}.pkl")
        replay = Replay(
            coqa=args.coqa, conversations=args.conversations, embedder=embedder, cache_dir=cache
        )
        t0 = time.perf_counter()
        await replay.prepare(verbose=False)
        out[runtime] = {}
        for scenario in SCENARIOS:
            async with replay.engine(cache={"enabled": False}) as engine:
                r = await replay_variant(replay, engine, scenario)
            out[runtime][scenario] = {k: r[k] for k in ("recall", "mrr", "scored_turns")}
            print(f"{runtime:6} {scenario:8} recall={r['recall']:.4f} mrr={r['mrr']:.4f}")
        out[runtime]["seconds"] = time.perf_counter() - t0
    for runtime in args.runtimes[1:]:
        suffix = "" if runtime == "onnx" else "_" + runtime.replace("-", "_")
        for scenario in SCENARIOS:
            out[f"difference_points_{scenario}{suffix}"] = 100 * (
                out[runtime][scenario]["recall"] - out["torch"][scenario]["recall"]
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--coqa", type=Path, default=DEFAULT_COQA)
    parser.add_argument("--conversations", type=int, default=60)
    parser.add_argument("--cache-dir", type=Path, default=CACHE_DIR)
    parser.add_argument(
        "--runtimes", nargs="+", choices=RUNTIMES, default=list(RUNTIMES), help="torch first"
    )
    args = parser.parse_args()
    if args.runtimes[0] != "torch":
        parser.error("--runtimes must start with torch (the reference)")
    result = asyncio.run(_run(args))
    result["meta"] = {
        "command": "python benchmarks/embedding_recall.py " + " ".join(sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d"),
    }
    for key, value in result.items():
        if key.startswith("difference_points_"):
            print(f"{key}: {value:+.2f} points (ONNX - torch)")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "embedding_recall.json").write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {RESULTS / 'embedding_recall.json'}")


if __name__ == "__main__":
    main()
