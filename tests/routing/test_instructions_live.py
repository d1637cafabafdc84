"""Host instructions in the real prompt sent to a real model, and in no other session's.

The engine's tiers call the local SmolLM2 server through a recording proxy on a loopback
port: the proxy keeps each request body exactly as litellm sent it and forwards the
stream unchanged, so the test reads the prompt the model really got.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from contextual_avatar import AsyncContextEngine, EngineConfig, Parts
from contextual_avatar.cache import MemoryHistory
from contextual_avatar.routing import LLMConfig, RoutingConfig
from contextual_avatar.routing._config import DEFAULT_SYSTEM_PROMPT
from contextual_avatar.testing import running_server

pytestmark = pytest.mark.slow


def recording_proxy(upstream: str, bodies: list[dict[str, Any]]) -> Starlette:
    """Forwards ``POST /v1/chat/completions`` to ``upstream``, keeping each request body."""

    async def completions(request: Request) -> StreamingResponse:
        body = await request.json()
        bodies.append(body)
        client = httpx.AsyncClient(timeout=120)
        upstream_request = client.build_request("POST", f"{upstream}/chat/completions", json=body)
        response = await client.send(upstream_request, stream=True)

        async def close() -> None:
            await response.aclose()
            await client.aclose()

        async def relay() -> AsyncIterator[bytes]:
            async for piece in response.aiter_raw():
                yield piece

        return StreamingResponse(
            relay(),
            status_code=response.status_code,
            media_type=response.headers.get("content-type"),
            background=BackgroundTask(close),
        )

    return Starlette(routes=[Route("/v1/chat/completions", completions, methods=["POST"])])


@pytest.fixture
def proxied(llm_server) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    bodies: list[dict[str, Any]] = []
    with running_server(recording_proxy(llm_server.api_base, bodies)) as base_url:
        yield f"{base_url}/v1", bodies


def system_of(body: dict[str, Any]) -> str:
    first = body["messages"][0]
    assert first["role"] == "system"
    content = first["content"]
    return content if isinstance(content, str) else "".join(b["text"] for b in content)


async def test_the_model_gets_the_hosts_instructions_and_no_other_session_does(
    proxied, llm_server, tmp_path, embedder, caplog
):
    caplog.set_level(logging.DEBUG)
    api_base, bodies = proxied
    tier = LLMConfig(
        model=llm_server.model,
        api_base=api_base,
        context_window=llm_server.n_ctx,
        max_output_tokens=12,
        input_usd_per_mtok=0,
        output_usd_per_mtok=0,
    )
    routing = RoutingConfig(
        small=tier, large=tier, retries=0, first_token_timeout_s=120, timeout_s=120
    )
    secret = f"You are Captain Zog {uuid.uuid4().hex}; speak like a pirate."
    async with AsyncContextEngine(
        EngineConfig(data_dir=tmp_path / "data", routing=routing),
        parts=Parts(embedder=embedder, history=MemoryHistory(max_turns=8)),
    ) as engine:
        await engine.ask("mine", "Who are you?", instructions=secret)
        await engine.ask("theirs", "Who are you?")
        await engine.ask("mine", "And what do you do?")  # the next request sends none
        mine_turns = await engine.parts.history.recent("mine")  # type: ignore[union-attr]
    assert len(bodies) == 3
    first, other, later = (system_of(b) for b in bodies)
    assert first.startswith(DEFAULT_SYSTEM_PROMPT)  # the grounding rule is never dropped
    assert secret in first
    assert first.index(DEFAULT_SYSTEM_PROMPT) < first.index(secret) < first.index("Sources")
    for body in bodies[1:]:
        assert secret not in json.dumps(body)
    assert other == later  # what any session gets without instructions
    # The answer may echo a few words of the persona, but a 12-token answer cannot hold
    # the whole secret: the instructions themselves are not stored with the turn.
    assert secret not in repr(mine_turns)
    # None of the library's log lines carries them (litellm's own DEBUG log prints whole
    # prompts, questions included; it is off unless a host turns it on).
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("contextual_avatar")]
    assert ours and not any(secret in line for line in ours)
