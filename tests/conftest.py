"""Fixtures shared by the whole suite: one real MiniLM embedder, engines on temp data dirs."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from contextual_avatar import ContextEngine, EngineConfig, Parts
from contextual_avatar.retrieval import MiniLMEmbedder

REPO = Path(__file__).resolve().parent.parent
GUIDE_PDF = REPO / "examples" / "data" / "guide.pdf"


@pytest.fixture(scope="session")
def embedder() -> MiniLMEmbedder:
    """The real default embedder, loaded once for the session (about 4 s)."""
    model = MiniLMEmbedder()
    model.embed(["warm up"])
    return model


@pytest.fixture
def guide_pdf() -> Path:
    """The two-page sample guide shipped with the examples (tickets on page 2)."""
    return GUIDE_PDF


@pytest.fixture
def make_engine(tmp_path: Path, embedder: MiniLMEmbedder) -> Iterator[Callable[..., ContextEngine]]:
    """Build blocking engines on a temp data dir sharing the session's embedder."""
    engines: list[ContextEngine] = []

    def make(parts: Parts | None = None, **config: Any) -> ContextEngine:
        config.setdefault("data_dir", tmp_path / "data")
        given = parts or Parts()
        if given.embedder is None:
            given = dataclasses.replace(given, embedder=embedder)
        engine = ContextEngine(EngineConfig(**config), parts=given)
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.close()
