"""Milvus Lite for the retrieval tests: one local database file per test session."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def milvus_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Milvus Lite database file (a real Milvus engine, no server); tests name their
    own collections and drop what they reuse."""
    pytest.importorskip("pymilvus", reason="the [milvus] extra is not installed")
    return tmp_path_factory.mktemp("milvus") / "milvus.db"
