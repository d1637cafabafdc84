"""Real MiniLM vectors: read from the replay caches, grown to a size (index_scale, live_update).

Private (``_``-named), so the report generator treats neither user as a shared harness.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]

#: Where the replay benchmarks keep their text -> vector caches (``emb-*.pkl``).
CACHE = Path(__file__).resolve().parent / ".cache"


def replay_vectors() -> dict[str, Vectors]:
    """Every text the replay benchmarks embedded with MiniLM (384 dimensions), and its vector."""
    vectors: dict[str, Vectors] = {}
    for path in sorted(CACHE.glob("emb-*.pkl")):
        with path.open("rb") as fh:
            got = pickle.load(fh)  # our own cache file
        if got and len(next(iter(got.values()))) == 384:  # MiniLM's, not another model's
            vectors.update(got)
    return vectors


def grow(real: Vectors, n: int, *, noise: float, seed: int = 0) -> Vectors:
    """``n`` unit vectors: the real ones, then perturbed copies of them.

    Where no ``n`` real texts can be had, each extra vector is a real one plus Gaussian
    noise of scale ``noise``, normalised: it keeps the real vectors' clustering.
    """
    rng = np.random.default_rng(seed)
    out = np.empty((n, real.shape[1]), dtype=np.float32)
    m = min(n, len(real))
    out[:m] = real[:m]
    step = 200_000
    for start in range(m, n, step):
        stop = min(n, start + step)
        base = real[rng.integers(0, len(real), stop - start)]
        block = base + rng.normal(0.0, noise, base.shape).astype(np.float32)
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        out[start:stop] = block
    return out
