"""Engines on the sample guide, and a real local LLM, for the integration tests."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from contextual_avatar import AsyncContextEngine, ContextEngine, EngineConfig, Parts
from contextual_avatar.retrieval import MiniLMEmbedder
from contextual_avatar.routing import LLMConfig, RoutingConfig
from contextual_avatar.testing import LLMServer, running_server

GUIDE_PDF = Path(__file__).resolve().parents[2] / "examples" / "data" / "guide.pdf"
#: The server's key in these tests: the one docs/platforms.md starts the server with.
SERVER_KEY = "your-long-random-key"


@contextlib.contextmanager
def guide_server(data_dir: Path, embedder: MiniLMEmbedder, key: str) -> Iterator[str]:
    """The service on a free port with the guide in its index and one API key; yields its URL."""
    from contextual_avatar.server import ServerSettings, create_app

    config = EngineConfig(data_dir=data_dir)
    with ContextEngine(config, parts=Parts(embedder=embedder)) as engine:
        engine.ingest(GUIDE_PDF)
    app = create_app(
        settings=ServerSettings(api_keys=[key]), config=config, parts=Parts(embedder=embedder)
    )
    with running_server(app) as base_url:
        yield base_url


@pytest.fixture
async def make_async_engine(
    tmp_path: Path, embedder: MiniLMEmbedder, guide_pdf: Path
) -> AsyncIterator[Callable[..., Any]]:
    """Open async engines on a temp data dir with the guide ingested (the host closes them)."""
    engines: list[AsyncContextEngine] = []

    async def make(**config: Any) -> AsyncContextEngine:
        config.setdefault("data_dir", tmp_path / "data")
        engine = AsyncContextEngine(EngineConfig(**config), parts=Parts(embedder=embedder))
        engines.append(engine)
        await engine.ingest(guide_pdf)
        return engine

    yield make
    for engine in engines:
        await engine.aclose()


@pytest.fixture
async def engine(make_async_engine: Callable[..., Any]) -> AsyncContextEngine:
    """An engine with the default offline answerer, the guide ingested."""
    return await make_async_engine()


@pytest.fixture(scope="session")
def llm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LLMServer]:
    """SmolLM2-135M under llama.cpp's OpenAI-compatible server (one thread: 2 shared cores)."""
    server = LLMServer(threads=1, log_path=tmp_path_factory.mktemp("llm") / "server.log")
    with server:
        yield server


@pytest.fixture
def local_routing(llm_server: LLMServer) -> RoutingConfig:
    """Both tiers on the local model: a real streamed answer that takes a while to write."""
    tier = LLMConfig(
        model=llm_server.model,
        api_base=llm_server.api_base,
        context_window=llm_server.n_ctx,
        max_output_tokens=24,
        input_usd_per_mtok=0,
        output_usd_per_mtok=0,
    )
    return RoutingConfig(
        small=tier, large=tier, retries=0, timeout_s=120, first_token_timeout_s=120
    )


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, embedder: MiniLMEmbedder) -> Iterator[str]:
    """The service on a free port with the guide in its index; yields the base URL."""
    with guide_server(tmp_path_factory.mktemp("server") / "data", embedder, SERVER_KEY) as url:
        yield url
