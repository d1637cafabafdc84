"""The ONNX embedder under many callers: one shared session, each caller its own rows.

The session is shared by all threads (ONNX Runtime's ``run`` is thread-safe) and texts
are re-ordered by length inside a call, so these check, on the real model, that every
text gets the vector it gets alone and in its own place, also with callers at once.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from contextual_avatar.retrieval import OnnxEmbedder
from tests.retrieval.test_onnx import real_sentences

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def onnx(tmp_path_factory) -> OnnxEmbedder:
    cache: Path = tmp_path_factory.mktemp("onnx-cache")
    model = OnnxEmbedder(cache_dir=cache, batch_size=8)
    model.warm()
    return model


def test_a_batch_gives_each_text_its_own_vector_in_order(onnx):
    sentences = real_sentences()[:40]  # mixed lengths: re-ordered into 5 passes of 8
    together = onnx.embed(sentences)
    one_by_one = np.vstack([onnx.embed([s]) for s in sentences])
    cosine = (together * one_by_one).sum(axis=1)
    assert cosine.min() >= 0.9999, f"row {cosine.argmin()} drifted: {cosine.min():.6f}"


def test_concurrent_callers_each_get_their_own_vectors(onnx):
    sentences = real_sentences()
    batches = [sentences[i : i + 3 + i % 11] for i in range(0, 60, 5)]
    expected = [onnx.embed(b) for b in batches]
    with ThreadPoolExecutor(6) as pool:
        got = list(pool.map(onnx.embed, batches))
    for want, have in zip(expected, got, strict=True):
        assert have.shape == want.shape
        assert np.allclose(have, want, atol=1e-5), "a caller got another caller's rows"
