"""Engines for stage tests: real parts on a temp dir, with a fast word-hashing embedder."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from contextual_avatar import EngineConfig, Parts
from contextual_avatar.parts import Built, build

WORD = re.compile(r"\w+")


class HashEmbedder:
    """Bag of hashed words: deterministic, instant, and similar texts share words."""

    dim = 64
    name = "hash-test-64"

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in WORD.findall(text.lower()):
                out[row, hashlib.blake2b(word.encode(), digest_size=2).digest()[0] % self.dim] += 1
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)


GUIDE = """Harbour Museum visitor guide.

Opening hours. The museum opens at 10 in the morning and closes at 6 in the evening.

Tickets. Tickets cost 9 euros for adults. Children aged 4 to 15 pay 5 euros, and children
under 4 enter free.

The lighthouse. The old lighthouse can be climbed in summer; it has 120 steps.
"""


@pytest.fixture
def guide_txt(tmp_path: Path) -> Path:
    path = tmp_path / "guide.txt"
    path.write_text(GUIDE)
    return path


@pytest.fixture
def make_built(tmp_path: Path):
    """Build an engine's parts and stages without the engine (closed by the test's loop end)."""

    def make(parts: Parts | None = None, **config: object) -> Built:
        config.setdefault("data_dir", tmp_path / "data")
        given = parts or Parts()
        if given.embedder is None:
            given = Parts(**{**_fields(given), "embedder": HashEmbedder()})
        return build(EngineConfig(**config), given)

    return make


def _fields(parts: Parts) -> dict[str, object]:
    return {name: getattr(parts, name) for name in Parts.__dataclass_fields__}
