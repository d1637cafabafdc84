"""Memory of an answering process: resident set size with the whole CoQA dev corpus loaded.

One process ingests all 300 CoQA dev passages (``../shared/data/coqa-dev.json``) into a
data folder; then, for each embedder runtime, a fresh process opens that folder, answers
turns with the default engine (offline answerer), and reports its RSS and whether torch
was imported. The ONNX and torch embedders share the index (same vectors, same name).
The ONNX process is also measured as where numba is not installed (it comes with the
``whisper`` extra, and ``bm25s`` imports it when present).

    .venv/bin/python benchmarks/memory.py [--docs 300] [--turns 50]

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
stories = json.loads(Path(coqa).read_text())["data"][:docs]
folder = data_dir.parent / "docs"
folder.mkdir(parents=True, exist_ok=True)
with ContextEngine(EngineConfig(data_dir=data_dir)) as engine:
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
config = EngineConfig(data_dir=data_dir, embedder={"runtime": runtime})
with ContextEngine(config) as engine:
    for story, question in questions:
        engine.ask("reader-" + story, question)
    rss = psutil.Process().memory_info().rss / 2**20
    docs = len(engine.documents)
print(json.dumps({"rss_mb": rss, "torch_imported": "torch" in sys.modules, "documents": docs,
                  "onnxruntime_imported": "onnxruntime" in sys.modules}))
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
    args = parser.parse_args()
    rows: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory(prefix="ca-memory-") as tmp:
        data_dir = Path(tmp) / "data"
        t0 = time.perf_counter()
        ingested = int(_run(_INGEST, str(args.coqa), str(data_dir), str(args.docs)))
        print(f"ingested {ingested} passages in {time.perf_counter() - t0:.0f} s")
        for name, runtime, numba in (
            ("onnx", "onnx", "numba"),
            ("onnx, numba not installed", "onnx", "no-numba"),
            ("torch", "torch", "numba"),
        ):
            out = json.loads(
                _run(_ANSWER, str(args.coqa), str(data_dir), runtime, str(args.turns), numba)
            )
            rows[name] = out
            print(
                f"{name:28} RSS {out['rss_mb']:7.1f} MB, torch imported: "
                f"{out['torch_imported']}, documents {out['documents']}"
            )
    result = {
        "meta": {
            "command": "python benchmarks/memory.py " + " ".join(sys.argv[1:]),
            "date": time.strftime("%Y-%m-%d"),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}",
            "target_onnx_rss_mb": 350,
        },
        "runtimes": rows,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "memory.json").write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {RESULTS / 'memory.json'}")


if __name__ == "__main__":
    main()
