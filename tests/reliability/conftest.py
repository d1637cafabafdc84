"""Fixtures for the reliability tests: real servers the tests may kill, and the corpus."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contextual_avatar.testing import RedisServer

HOSTILE_DIR = Path(__file__).resolve().parents[1] / "data" / "hostile"


def hostile_manifest() -> dict[str, dict[str, Any]]:
    """``tests/data/hostile/manifest.json``: file name -> expect, match, reason."""
    data: dict[str, dict[str, Any]] = json.loads((HOSTILE_DIR / "manifest.json").read_text())
    return data


@pytest.fixture(scope="session")
def shared_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One redis-server for the tests that do not kill it."""
    with RedisServer(tmp_path_factory.mktemp("redis-shared")) as server:
        yield server


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server this test may kill, stall and restart."""
    with RedisServer(tmp_path / "redis") as server:
        yield server


@pytest.fixture
def key_prefix() -> str:
    """A fresh Redis namespace per test."""
    return f"rel:{uuid.uuid4().hex[:12]}"
