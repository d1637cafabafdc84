"""An answering process on the ONNX path stays small: what it must never import.

A fresh interpreter opens an engine with the ONNX embedder on a data folder another
process ingested a real document into (the model already exported, as in a deployed
image), answers a question, and reports which heavy modules it imported and its
resident memory. Each module below once cost an
answering process tens to hundreds of MB (``benchmarks/memory.py``), so each gets a
guard against creeping back.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]

#: Module -> why an answering process must not import it.
NEVER = {
    "torch": "the torch embedder's runtime (~600 MB); the ONNX path needs none of it",
    "transformers": "comes with torch's sentence-transformers",
    "sentence_transformers": "the torch embedder",
    "numba": "bm25s imports it when installed (~80 MB with llvmlite)",
    "llvmlite": "numba's compiler",
    "scipy": "bm25s imports scipy.sparse",
    "bm25s": "replaced by the in-house BM25 index",
    "sklearn": "not used when answering",
    "pandas": "not used when answering",
    "onnx": "only the one-off export needs it, not a process loading an exported model",
    "pypdf": "ingest of PDFs only",
    "litellm": "only remote-LLM tiers need it; the offline answerer does not",
}

_INGEST = """
import sys
from pathlib import Path
from contextual_avatar import ContextEngine, EngineConfig
data, cache, doc = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
config = EngineConfig(data_dir=data, embedder={"runtime": "onnx", "cache_dir": cache})
with ContextEngine(config) as engine:
    engine.ingest(doc)
"""

_ANSWER = """
import json, sys
from pathlib import Path
if sys.argv[3:] == ["no-trim"]:  # as before the embedder gave freed heap back
    from contextual_avatar.retrieval import _onnx
    _onnx.release_free_memory = lambda: False
import psutil
from contextual_avatar import ContextEngine, EngineConfig
data, cache = Path(sys.argv[1]), sys.argv[2]
config = EngineConfig(data_dir=data, embedder={"runtime": "onnx", "cache_dir": cache})
with ContextEngine(config) as engine:
    answer = engine.ask("caller-1", "How much do tickets cost?")
    rss = psutil.Process().memory_info().rss / 2**20
print(json.dumps({"modules": sorted(sys.modules), "rss_mb": rss, "answer": answer.text}))
"""


def _python(code: str, *args: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.fixture(scope="module")
def answering_process(tmp_path_factory) -> dict:
    """One process ingests (and exports the model, as an image build would); a second,
    fresh one only answers, as a deployed answering process does."""
    from pypdf import PdfReader

    tmp = tmp_path_factory.mktemp("onnx-imports")
    doc = tmp / "guide.txt"
    pages = PdfReader(REPO / "examples/data/guide.pdf").pages
    doc.write_text("\n\n".join(p.extract_text() for p in pages), encoding="utf-8")
    _python(_INGEST, tmp / "data", tmp / "models", doc)
    out = _python(_ANSWER, tmp / "data", tmp / "models")
    untrimmed = _python(_ANSWER, tmp / "data", tmp / "models", Path("no-trim"))
    result = dict(json.loads(out.strip().splitlines()[-1]))
    result["untrimmed_rss_mb"] = json.loads(untrimmed.strip().splitlines()[-1])["rss_mb"]
    return result


@pytest.mark.parametrize("module", sorted(NEVER))
def test_an_onnx_answering_process_does_not_import(answering_process, module):
    top_level = {m.split(".")[0] for m in answering_process["modules"]}
    assert module not in top_level, f"{module} was imported: {NEVER[module]}"


def test_it_answers_from_the_document_with_onnx_runtime(answering_process):
    assert "onnxruntime" in answering_process["modules"], "the ONNX path was not taken"
    assert answering_process["answer"].strip(), "no answer"


def test_it_stays_under_the_memory_target(answering_process):
    # The target of benchmarks/memory.py (there with the 300-passage CoQA corpus; this
    # corpus is one guide, so the bound has room): torch or numba creeping back breaks it.
    assert answering_process["rss_mb"] <= 350, f"{answering_process['rss_mb']:.0f} MB"


@pytest.mark.skipif(sys.platform != "linux", reason="glibc's malloc_trim")
def test_the_heap_freed_by_loading_the_model_goes_back_to_the_os(answering_process):
    # Measured 31 MB on this corpus, 35 MB with the CoQA dev corpus (glibc's malloc_trim).
    saved = answering_process["untrimmed_rss_mb"] - answering_process["rss_mb"]
    assert saved >= 15, f"only {saved:.0f} MB returned"
