"""The :class:`~contextual_avatar.Embedder` contract, as tests a host reuses.

The engine relies on more than ``embed``'s signature: rows are float32 unit vectors (so
an inner product is a cosine and the cache and router thresholds mean the same for every
embedder), one row per text in order, the same text gives the same vector whatever batch
it comes in (the cache compares vectors embedded on different turns), and ``name`` and
``dim`` identify the index a model built::

    class TestMyEmbedder(EmbedderContract):
        @pytest.fixture
        def embedder(self):
            return MyEmbedder()

Plain assertions, no test library imported: it runs under any harness that collects
``test_`` methods and provides the ``embedder`` fixture.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from contextual_avatar.retrieval import Embedder

__all__ = ["EmbedderContract"]


class EmbedderContract:
    """Subclass with an ``embedder`` fixture; every test checks one promise of the protocol."""

    #: Texts embedded by the tests: short and long, punctuation, non-Latin script, emoji.
    texts: ClassVar[tuple[str, ...]] = (
        "How much does an adult ticket cost?",
        "Tickets cost 9 euros for adults; children aged 4 to 15 pay 5 euros.",
        "Der Leuchtturm wurde 1874 gebaut. 灯台は1874年に建てられた。",
        "ok 👍",
        " ".join(["The harbour tour lasts ninety minutes."] * 40),
    )
    #: Largest difference tolerated between one text's vectors from two batches.
    batch_tolerance: ClassVar[float] = 1e-4

    def test_is_an_embedder(self, embedder: Embedder) -> None:
        assert isinstance(embedder, Embedder), "missing dim, name or embed"
        assert isinstance(embedder.dim, int), "dim must be an int"
        assert embedder.dim > 0, "dim must be positive"
        assert isinstance(embedder.name, str), "name must be a str"
        assert embedder.name, "name must not be empty"

    def test_one_float32_row_per_text(self, embedder: Embedder) -> None:
        vectors = embedder.embed(list(self.texts))
        assert isinstance(vectors, np.ndarray), "embed must return a numpy array"
        assert vectors.dtype == np.float32, f"rows must be float32, got {vectors.dtype}"
        assert vectors.shape == (len(self.texts), embedder.dim), vectors.shape
        assert np.isfinite(vectors).all(), "vectors must be finite"

    def test_rows_are_unit_vectors(self, embedder: Embedder) -> None:
        norms = np.linalg.norm(embedder.embed(list(self.texts)), axis=1)
        assert np.allclose(norms, 1.0, atol=1e-3), f"row norms {norms}"

    def test_no_texts_give_an_empty_matrix(self, embedder: Embedder) -> None:
        assert embedder.embed([]).shape == (0, embedder.dim)

    def test_a_text_embeds_alike_alone_and_in_any_batch(self, embedder: Embedder) -> None:
        together = embedder.embed(list(self.texts))
        reversed_ = embedder.embed(list(reversed(self.texts)))[::-1]
        for i, text in enumerate(self.texts):
            alone = embedder.embed([text])[0]
            for other in (together[i], reversed_[i]):
                gap = float(np.abs(alone - other).max())
                assert gap <= self.batch_tolerance, f"{text[:30]!r} differs by {gap} by batch"
