"""Embedding speed: the same MiniLM on torch (sentence-transformers) and on ONNX Runtime.

On real CoQA questions (``../shared/data/coqa-dev.json``): per-query latency unbatched
(p50/p99), throughput at batch 32, and agreement with the torch vectors (cosine), for
torch, ONNX float32 and ONNX int8. The runtimes are measured in alternating rounds so
that load from other jobs on the machine hits them alike; ratios are the robust figures.

Two more ONNX float rows compare session options (``options`` in the JSON) with the
default (an ONNX Runtime pool of one thread per core, graph optimisation "all"): one
thread, and graph optimisation "extended". Tokenisation is timed on its own.

    .venv/bin/python benchmarks/embedding.py [--rounds 5] [--coqa PATH]

Writes ``benchmarks/results/embedding.json`` and ``embedding.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
COQA = HERE.parent.parent / "shared" / "data" / "coqa-dev.json"
RESULTS = HERE / "results"


def _questions(path: Path) -> list[str]:
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    return [q["input_text"] for d in data for q in d["questions"]]


def _load() -> float:
    return os.getloadavg()[0]


def _with_session(model: Any, *, ort_threads: int, level: str) -> Any:
    """``model`` (loaded) running on a session with other options."""
    import onnxruntime as ort

    model.warm()
    options = ort.SessionOptions()
    options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, level)
    options.intra_op_num_threads = ort_threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    options.enable_cpu_mem_arena = False
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    path = model._session._model_path
    model._session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    return model


def _tokenise_ms(model: Any, texts: list[str]) -> float:
    """Milliseconds per text to tokenise one text at a time (the unbatched path's cost)."""
    _, tokenizer = model._load()
    t0 = time.perf_counter()
    for text in texts:
        tokenizer.encode_batch([text])
    return (time.perf_counter() - t0) * 1000 / len(texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--singles", type=int, default=60, help="unbatched queries per round")
    parser.add_argument("--batches", type=int, default=4, help="batches of 32 per round")
    parser.add_argument("--coqa", type=Path, default=COQA)
    args = parser.parse_args()

    from contextual_avatar.retrieval import MiniLMEmbedder, OnnxEmbedder

    questions = _questions(args.coqa)
    rng = np.random.default_rng(0)
    cache = Path(tempfile.mkdtemp(prefix="ca-onnx-"))
    cores = os.cpu_count() or 1
    models: dict[str, Any] = {
        "torch": MiniLMEmbedder(),
        "onnx": OnnxEmbedder(cache_dir=cache),
        "onnx-int8": OnnxEmbedder(cache_dir=cache, quantize=True),
        "onnx, 1 ORT thread": _with_session(
            OnnxEmbedder(cache_dir=cache), ort_threads=1, level="ORT_ENABLE_ALL"
        ),
        "onnx, graph level extended": _with_session(
            OnnxEmbedder(cache_dir=cache), ort_threads=cores, level="ORT_ENABLE_EXTENDED"
        ),
    }
    options = list(models)[3:]
    for model in models.values():
        model.embed(questions[:40])  # load, export, warm up
    singles: dict[str, list[float]] = {n: [] for n in models}
    batch_s: dict[str, list[float]] = {n: [] for n in models}
    loads = []
    for _ in range(args.rounds):
        loads.append(_load())
        picks = rng.choice(len(questions), size=args.singles + 32 * args.batches, replace=False)
        texts = [questions[i] for i in picks]
        names = list(models)
        rng.shuffle(names)  # no runtime always runs right after the heavy torch one
        for name in names:
            model = models[name]
            for text in texts[: args.singles]:
                t0 = time.perf_counter()
                model.embed([text])
                singles[name].append((time.perf_counter() - t0) * 1000)
            rest = texts[args.singles :]
            for b in range(args.batches):
                t0 = time.perf_counter()
                model.embed(rest[b * 32 : (b + 1) * 32])
                batch_s[name].append(time.perf_counter() - t0)
    tokenise_ms = _tokenise_ms(models["onnx"], questions[:2000])
    sample = questions[:500]
    reference = models["torch"].embed(sample)
    rows: dict[str, dict[str, float]] = {}
    for name, model in models.items():
        cosine = (model.embed(sample) * reference).sum(axis=1)
        rows[name] = {
            "single_p50_ms": float(np.percentile(singles[name], 50)),
            "single_p99_ms": float(np.percentile(singles[name], 99)),
            "batch32_texts_per_s": 32 * len(batch_s[name]) / sum(batch_s[name]),
            "cosine_to_torch_mean": float(cosine.mean()),
            "cosine_to_torch_min": float(cosine.min()),
        }
    torch_rate = rows["torch"]["batch32_texts_per_s"]
    torch_p50 = rows["torch"]["single_p50_ms"]
    for row in rows.values():
        row["batch32_x_torch"] = row["batch32_texts_per_s"] / torch_rate
        row["single_speedup_x_torch"] = torch_p50 / row["single_p50_ms"]
    result = {
        "meta": {
            "command": "python benchmarks/embedding.py " + f"--rounds {args.rounds}",
            "date": time.strftime("%Y-%m-%d"),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}",
            "load_avg_1m": [round(x, 2) for x in loads],
            "tokenise_ms_per_query": tokenise_ms,
        },
        "runtimes": {n: r for n, r in rows.items() if n not in options},
        "options": {n: r for n, r in rows.items() if n in options},
    }
    print(f"load average during the rounds: {', '.join(f'{x:.1f}' for x in loads)}")
    print(f"tokenising one query: {tokenise_ms:.3f} ms")
    print(
        f"{'runtime':30} {'p50 ms':>8} {'p99 ms':>8} {'b32/s':>8} {'x torch':>8} {'cos mean':>9} {'cos min':>8}"
    )
    for name, r in rows.items():
        print(
            f"{name[:30]:30} {r['single_p50_ms']:8.2f} {r['single_p99_ms']:8.2f} "
            f"{r['batch32_texts_per_s']:8.0f} {r['batch32_x_torch']:8.2f} "
            f"{r['cosine_to_torch_mean']:9.4f} {r['cosine_to_torch_min']:8.4f}"
        )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "embedding.json").write_text(json.dumps(result, indent=1) + "\n")
    _plot({n: r for n, r in rows.items() if n not in options}, RESULTS / "embedding.png")
    print(f"wrote {RESULTS / 'embedding.json'} and embedding.png")


def _plot(rows: dict[str, dict[str, float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(rows)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    ax1.bar(names, [rows[n]["single_p50_ms"] for n in names], label="p50")
    ax1.scatter(names, [rows[n]["single_p99_ms"] for n in names], color="black", marker="_", s=300)
    ax1.set_ylabel("ms per query, unbatched")
    ax1.set_title("one query (p50 bar, p99 tick)")
    ax2.bar(names, [rows[n]["batch32_texts_per_s"] for n in names], color="C1")
    ax2.set_ylabel("texts/s")
    ax2.set_title("throughput at batch 32")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
