"""Memory of an answering process: resident set size with the whole CoQA dev corpus loaded.

One process ingests all 300 CoQA dev passages (``../shared/data/coqa-dev.json``) into a
data folder; then, for each embedder runtime, a fresh process opens that folder, answers
turns with the default engine (offline answerer), and reports its RSS and whether torch
was imported. The ONNX and torch embedders share the index (same vectors, same name);
the int8 ONNX model has its own name, so it gets its own folder. The ONNX process is
also measured as where numba is not installed (it comes with the ``whisper`` extra;
``bm25s``, which earlier releases used for BM25, imported it when present). Each row
lists the heavy modules the process imported (``tests/retrieval/test_onnx_imports.py``
keeps them out) and splits RSS into anonymous memory and mapped files (libraries).

    .venv/bin/python benchmarks/memory.py [--docs 300] [--turns 50] [--no-int8]

Writes ``benchmarks/results/memory.json``. Target: <= 350 MB on the ONNX path.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
COQA = HERE.parent.parent / "shared" / "data" / "coqa-dev.json"
RESULTS = HERE / "results"

_INGEST = """
import json, sys
from pathlib import Path
from contextual_avatar import ContextEngine, EngineConfig
coqa, data_dir, docs = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
embedder = {"quantize": True} if sys.argv[4:] == ["int8"] else {}
stories = json.loads(Path(coqa).read_text())["data"][:docs]
folder = data_dir.parent / "docs"
folder.mkdir(parents=True, exist_ok=True)
with ContextEngine(EngineConfig(data_dir=data_dir, embedder=embedder)) as engine:
    for s in stories:
        path = folder / (s["id"] + ".txt")
        path.write_text(s["story"])
        engine.ingest(path)
    print(len(engine.documents))
"""

_ANSWER = """
import json, sys
if sys.argv[5] == "no-numba":  # as where numba is not installed (it comes with [whisper])
    sys.modules["numba"] = None
from pathlib import Path
import psutil
from contextual_avatar import ContextEngine, EngineConfig
coqa, data_dir, runtime, turns = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
stories = json.loads(Path(coqa).read_text())["data"]
questions = [(s["id"], q["input_text"]) for s in stories for q in s["questions"][:2]][:turns]
del stories
embedder = {"runtime": runtime.split("-")[0], "quantize": runtime.endswith("-int8")}
config = EngineConfig(data_dir=data_dir, embedder=embedder)
with ContextEngine(config) as engine:
    for story, question in questions:
        engine.ask("reader-" + story, question)
    rss = psutil.Process().memory_info().rss / 2**20
    docs = len(engine.documents)
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
kb = lambda key: int(status[key].split()[0]) / 1024
heavy = ("torch", "transformers", "sentence_transformers", "numba", "llvmlite", "scipy",
         "bm25s", "sklearn", "pandas", "onnx", "pypdf", "litellm", "tiktoken")
top = {m.split(".")[0] for m, mod in sys.modules.items() if mod is not None}  # None: blocked
print(json.dumps({"rss_mb": rss, "torch_imported": "torch" in sys.modules, "documents": docs,
                  "onnxruntime_imported": "onnxruntime" in sys.modules,
                  "rss_anon_mb": kb("RssAnon"), "rss_file_mb": kb("RssFile"),
                  "heavy_modules": sorted(m for m in heavy if m in top)}))
"""


def _run(code: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    return done.stdout.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=300)
    parser.add_argument("--turns", type=int, default=50)
    parser.add_argument("--coqa", type=Path, default=COQA)
    parser.add_argument("--no-int8", action="store_true", help="skip the int8 model's row")
    args = parser.parse_args()
    rows: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory(prefix="ca-memory-") as tmp:
        data_dir = Path(tmp) / "data"
        t0 = time.perf_counter()
        ingested = int(_run(_INGEST, str(args.coqa), str(data_dir), str(args.docs)))
        print(f"ingested {ingested} passages in {time.perf_counter() - t0:.0f} s")
        runs = [
            ("onnx", "onnx", "numba", data_dir),
            ("onnx, numba not installed", "onnx", "no-numba", data_dir),
            ("torch", "torch", "numba", data_dir),
        ]
        if not args.no_int8:
            int8_dir = Path(tmp) / "int8" / "data"
            _run(_INGEST, str(args.coqa), str(int8_dir), str(args.docs), "int8")
            runs.insert(1, ("onnx int8", "onnx-int8", "numba", int8_dir))
        for name, runtime, numba, folder in runs:
            out = json.loads(
                _run(_ANSWER, str(args.coqa), str(folder), runtime, str(args.turns), numba)
            )
            rows[name] = out
            print(
                f"{name:28} RSS {out['rss_mb']:7.1f} MB (anon {out['rss_anon_mb']:.0f}, files "
                f"{out['rss_file_mb']:.0f}), torch imported: {out['torch_imported']}, "
                f"documents {out['documents']}, heavy modules: {out['heavy_modules']}"
            )
    result = {
        "meta": {
            "command": "python benchmarks/memory.py " + " ".join(sys.argv[1:]),
            "date": time.strftime("%Y-%m-%d"),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}",
            "target_onnx_rss_mb": 350,
            "load_avg_1m": round(os.getloadavg()[0], 2),
        },
        "runtimes": rows,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "memory.json").write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {RESULTS / 'memory.json'}")


if __name__ == "__main__":
    main()
