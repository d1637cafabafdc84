"""The shipped embedder contract, on the default MiniLM embedder and on a broken one."""

from __future__ import annotations

import numpy as np
import pytest

from contextual_avatar.testing import EmbedderContract

pytestmark = pytest.mark.slow


class TestMiniLM(EmbedderContract):
    @pytest.fixture
    def embedder(self, embedder):  # the session's real MiniLM (tests/conftest.py)
        return embedder


class NotNormalised:
    dim = 8
    name = "not-normalised"

    def embed(self, texts):
        return np.ones((len(texts), self.dim), dtype=np.float32)


def test_the_contract_catches_rows_that_are_not_unit_vectors():
    with pytest.raises(AssertionError, match="row norms"):
        EmbedderContract().test_rows_are_unit_vectors(NotNormalised())
