"""Which FAISS index serves the dense search: exact for small corpora, approximate above.

Exact inner-product search (``IndexFlatIP``) is linear in the corpus: about 0.2 ms at
10k, tens of ms at 1M. Above ``approximate_above`` chunks the index becomes an IVF index
(or an HNSW graph), which scans a small share of the corpus per query at a small recall
cost. The default kind and its settings were chosen by measurement on real MiniLM vectors
(``benchmarks/index_scale.py``, ``docs/retrieval.md``, "Index types"): at 1M chunks IVF
met recall@10 >= 0.95 where HNSW (M 32, efConstruction 40) reached 0.91.

Everything here is pure FAISS: build an index for a matrix of unit vectors, add to it,
and say whether a persisted one still fits the corpus. :class:`FaissIndex` keeps the
vectors and chunk metadata and decides when to call these.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

import faiss
import numpy as np
import numpy.typing as npt

__all__ = [
    "DEFAULT_APPROXIMATE",
    "DEFAULT_APPROXIMATE_ABOVE",
    "DenseKind",
    "DenseSpec",
    "IndexKind",
    "build_dense",
    "can_grow",
    "fits",
    "ivf_lists",
    "kind_of",
    "read_dense",
    "tune",
    "write_dense",
]

IndexKind = Literal["auto", "flat", "hnsw", "ivf"]
DenseKind = Literal["flat", "hnsw", "ivf"]
Vectors = npt.NDArray[np.float32]

#: Below this many chunks exact search is fast enough (about 5 ms at 50k on 2 cores) and
#: needs no build; above it the approximate kind serves.
DEFAULT_APPROXIMATE_ABOVE = 50_000
#: Chosen by ``benchmarks/index_scale.py`` (see ``docs/retrieval.md``).
DEFAULT_APPROXIMATE: Literal["hnsw", "ivf"] = "ivf"
DEFAULT_HNSW_M = 32
DEFAULT_HNSW_EF_CONSTRUCTION = 40
DEFAULT_HNSW_EF_SEARCH = 128
DEFAULT_IVF_NPROBE = 64
# IVF: lists ~ 4 sqrt(n), trained on up to 64 points per list.
_IVF_TRAIN_PER_LIST = 64


@dataclass(frozen=True, slots=True)
class DenseSpec:
    """How the dense index is built.

    Parameters:
        kind: ``"auto"`` (exact up to ``approximate_above`` chunks, then
            ``approximate``), or one kind at every size.
        approximate_above: Chunk count above which ``"auto"`` switches.
        approximate: The approximate kind ``"auto"`` switches to.
        hnsw_m: HNSW graph degree (memory: about ``2 * m * 4`` bytes per chunk).
        hnsw_ef_construction: HNSW build breadth.
        hnsw_ef_search: HNSW search breadth (recall against speed).
        ivf_nprobe: IVF lists searched per query (recall against speed).
    """

    kind: IndexKind = "auto"
    approximate_above: int = DEFAULT_APPROXIMATE_ABOVE
    approximate: Literal["hnsw", "ivf"] = DEFAULT_APPROXIMATE
    hnsw_m: int = DEFAULT_HNSW_M
    hnsw_ef_construction: int = DEFAULT_HNSW_EF_CONSTRUCTION
    hnsw_ef_search: int = DEFAULT_HNSW_EF_SEARCH
    ivf_nprobe: int = DEFAULT_IVF_NPROBE

    def kind_for(self, n: int) -> DenseKind:
        """The kind that serves a corpus of ``n`` chunks."""
        if self.kind != "auto":
            return self.kind
        return self.approximate if n > self.approximate_above else "flat"


def kind_of(index: Any) -> DenseKind:
    """The kind of a built (or read) FAISS index."""
    index = faiss.downcast_index(index)
    if isinstance(index, faiss.IndexHNSW):
        return "hnsw"
    if isinstance(index, faiss.IndexIVF):
        return "ivf"
    return "flat"


def ivf_lists(n: int) -> int:
    """IVF list count for ``n`` vectors: about ``4 sqrt(n)``, at least 1."""
    return max(1, min(65_536, int(4 * math.sqrt(max(n, 1)))))


def build_dense(vectors: Vectors, spec: DenseSpec, *, dim: int | None = None) -> Any:
    """A FAISS inner-product index of the kind ``spec`` picks for ``len(vectors)``.

    Args:
        vectors: Unit rows ``(n, dim)``, float32 and contiguous.
        spec: The build settings.
        dim: The dimension when ``vectors`` is empty.
    """
    d = int(vectors.shape[1]) if vectors.ndim == 2 and vectors.shape[1] else int(dim or 0)
    kind = spec.kind_for(len(vectors))
    index: Any
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(d, spec.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = spec.hnsw_ef_construction
    elif kind == "ivf" and len(vectors):
        nlist = ivf_lists(len(vectors))
        quantizer = faiss.IndexFlatIP(d)
        index = faiss.IndexIVFFlat(quantizer, d, nlist, faiss.METRIC_INNER_PRODUCT)
        index.own_fields = True
        cast(Any, quantizer).this.disown()  # the IVF index frees its quantizer
        sample = _sample(vectors, nlist * _IVF_TRAIN_PER_LIST)
        index.train(sample)
    else:  # flat, or IVF with nothing to train on yet
        index = faiss.IndexFlatIP(d)
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    tune(index, spec)
    return index


def tune(index: Any, spec: DenseSpec) -> None:
    """Apply ``spec``'s search settings to ``index`` (also after reading one from disk)."""
    kind = kind_of(index)
    if kind == "hnsw":
        cast(Any, faiss.downcast_index(index)).hnsw.efSearch = spec.hnsw_ef_search
    elif kind == "ivf":
        faiss.extract_index_ivf(index).nprobe = spec.ivf_nprobe


def fits(index: Any, spec: DenseSpec, n: int) -> bool:
    """Whether ``index`` holds ``n`` rows and is what ``spec`` wants at ``n``."""
    return int(index.ntotal) == n and can_grow(index, spec, n)


def can_grow(index: Any, spec: DenseSpec, n: int) -> bool:
    """Whether ``index`` may simply take rows up to ``n`` (else: build anew).

    No when the kind changes at ``n``, or when an IVF index was trained on a corpus a
    quarter of the size or less: it has too few lists for it, so it is re-trained.
    """
    kind = kind_of(index)
    if kind != spec.kind_for(n):
        return False
    if kind == "ivf":
        return int(faiss.extract_index_ivf(index).nlist) * 2 >= ivf_lists(n)
    return True


def read_dense(path: Path) -> Any:
    """A saved FAISS index, or ``None`` (absent or unreadable: the caller rebuilds it)."""
    if not path.exists():
        return None
    try:
        return faiss.read_index(str(path))
    except RuntimeError:
        return None


def write_dense(index: Any, path: Path) -> None:
    """Save ``index`` to ``path`` and sync it to disk."""
    faiss.write_index(index, str(path))
    with path.open("rb") as fh:
        os.fsync(fh.fileno())


def _sample(vectors: Vectors, m: int) -> Vectors:
    if len(vectors) <= m:
        return np.ascontiguousarray(vectors, dtype=np.float32)
    rows = np.random.default_rng(0).choice(len(vectors), m, replace=False)
    return np.ascontiguousarray(vectors[np.sort(rows)], dtype=np.float32)
