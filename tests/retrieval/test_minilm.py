from __future__ import annotations

import numpy as np
import pytest

from contextual_avatar.retrieval import MiniLMEmbedder

pytestmark = pytest.mark.slow


def test_vectors_are_unit_float32(embedder: MiniLMEmbedder):
    out = embedder.embed(["tickets cost nine euros", "中文 text with émojis 👩‍🔬"])
    assert out.dtype == np.float32
    assert out.shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)


def test_semantic_neighbours_score_higher(embedder: MiniLMEmbedder):
    q, near, far = embedder.embed(
        ["How much is a ticket?", "Admission costs 9 euros.", "The lighthouse was built in 1874."]
    )
    assert q @ near > q @ far + 0.1


def test_empty_input(embedder: MiniLMEmbedder):
    assert embedder.embed([]).shape == (0, 384)
