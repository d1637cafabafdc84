"""A real local LLM (SmolLM2-135M under llama.cpp's OpenAI-compatible server) for the session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from contextual_avatar.routing import LLMConfig
from contextual_avatar.testing import LLMServer


@pytest.fixture(scope="session")
def llm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LLMServer]:
    # One thread: on a shared 2-core machine llama.cpp's spinning worker threads slow
    # each other down far more than they help.
    server = LLMServer(threads=1, log_path=tmp_path_factory.mktemp("llm") / "server.log")
    with server:
        yield server


@pytest.fixture
def local_tier(llm_server: LLMServer) -> LLMConfig:
    """The local model as a tier, priced at 0 and with short answers to keep tests quick."""
    return LLMConfig(
        model=llm_server.model,
        api_base=llm_server.api_base,
        context_window=llm_server.n_ctx,
        max_output_tokens=24,
        input_usd_per_mtok=0,
        output_usd_per_mtok=0,
    )
