"""Growing a set of real MiniLM vectors to a target size (shared by index_scale, live_update).

Private (``_``-named), so the report generator treats neither user as a shared harness.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]


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
