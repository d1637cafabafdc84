"""The litellm client against a real local model: streaming, barge-in, retries, fallback."""

from __future__ import annotations

import asyncio

import pytest

from contextual_avatar.errors import ModelError
from contextual_avatar.routing import (
    LiteLLMResponder,
    LLMConfig,
    Reply,
    RoutingConfig,
    Tiers,
    stream_reply,
)
from contextual_avatar.testing import free_port
from contextual_avatar.types import Tier

from .helpers import HARBOUR

pytestmark = pytest.mark.slow

FAST = RoutingConfig(retries=0, timeout_s=120, first_token_timeout_s=120)


def dead_tier(**kw) -> LLMConfig:
    """A tier whose server is not there: a real connection failure."""
    return LLMConfig(
        model="openai/nobody",
        api_base=f"http://127.0.0.1:{free_port()}/v1",
        context_window=2048,
        input_usd_per_mtok=0,
        output_usd_per_mtok=0,
        **kw,
    )


async def test_streams_deltas_then_a_priced_reply(local_tier):
    responder = LiteLLMResponder(local_tier, routing=FAST)
    items = [i async for i in responder.stream("Who is the guide?", context=HARBOUR, history=[])]
    *deltas, reply = items
    assert deltas
    assert all(isinstance(d, str) for d in deltas)
    assert isinstance(reply, Reply)
    assert reply.text == "".join(deltas).strip()
    assert reply.model == local_tier.model
    packer = await responder.packer()
    prompt = packer.pack("Who is the guide?", context=HARBOUR, history=[])
    # The stream now ends with the server's own usage (stream_options include_usage):
    # its tokenizer, not our estimate, so close to the packer's count but its own.
    assert abs(reply.tokens.prompt - prompt.prompt_tokens) <= 0.2 * prompt.prompt_tokens
    assert 0 < reply.tokens.completion <= local_tier.max_output_tokens + 2
    assert reply.cost_usd == 0.0


async def test_closing_the_stream_stops_generation_and_the_server_serves_the_next(local_tier):
    responder = LiteLLMResponder(
        local_tier.model_copy(update={"max_output_tokens": 200}), routing=FAST
    )
    stream = responder.stream("Tell me everything about the harbour.", context=HARBOUR, history=[])
    first = await anext(stream)
    assert isinstance(first, str)
    await stream.aclose()  # barge-in
    # The server handles one request at a time: a next answer arriving proves the first
    # generation was stopped rather than run on to 200 tokens.
    short = LiteLLMResponder(local_tier.model_copy(update={"max_output_tokens": 4}), routing=FAST)
    reply = await short.respond("Who is the guide?", context=HARBOUR, history=[])
    assert reply.tokens.completion <= 6


async def test_cancelling_the_reading_task_is_a_barge_in(local_tier):
    responder = LiteLLMResponder(
        local_tier.model_copy(update={"max_output_tokens": 200}), routing=FAST
    )
    got: list[str] = []
    first = asyncio.Event()

    async def listen() -> None:
        async for item in responder.stream("Describe the tour.", context=HARBOUR, history=[]):
            if isinstance(item, str):
                got.append(item)
                first.set()

    task = asyncio.create_task(listen())
    await first.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert got
    assert task.cancelled()


async def test_a_dead_server_raises_model_error_after_retries():
    responder = LiteLLMResponder(
        dead_tier(), routing=RoutingConfig(retries=1, first_token_timeout_s=10)
    )
    with pytest.raises(ModelError, match="2 attempt") as info:
        await responder.respond("q", context=HARBOUR, history=[])
    assert info.value.__cause__ is not None


async def test_tiers_fall_back_to_the_other_tier_before_the_first_token(local_tier):
    tiers = Tiers(
        LiteLLMResponder(dead_tier(), routing=FAST), LiteLLMResponder(local_tier, routing=FAST)
    )
    items = [
        i async for i in tiers.stream(Tier.SMALL, "Who is the guide?", context=HARBOUR, history=[])
    ]
    reply = items[-1]
    assert isinstance(reply, Reply)
    assert reply.model == local_tier.model
    assert reply.fallback_from == "openai/nobody"
    no_fallback = Tiers(tiers.small, tiers.large, fallback=False)
    with pytest.raises(ModelError):
        [i async for i in no_fallback.stream(Tier.SMALL, "q", context=HARBOUR, history=[])]


async def test_first_token_timeout_is_a_model_error(local_tier):
    # A 1 ms first-token budget cannot be met by any real server.
    responder = LiteLLMResponder(
        local_tier, routing=RoutingConfig(retries=0, first_token_timeout_s=0.001)
    )
    with pytest.raises(ModelError):
        await responder.respond("Who is the guide?", context=HARBOUR, history=[])


async def test_stream_reply_wraps_a_streaming_responder(local_tier):
    responder = LiteLLMResponder(local_tier, routing=FAST)
    items = [
        i async for i in stream_reply(responder, "Who is the guide?", context=HARBOUR, history=[])
    ]
    assert isinstance(items[-1], Reply)
    assert sum(isinstance(i, Reply) for i in items) == 1


async def test_citations_follow_the_markers_the_model_writes(local_tier):
    # The 135M model rarely writes markers on its own; whatever it writes is parsed, and
    # each citation must be a source that was in the prompt.
    responder = LiteLLMResponder(local_tier, routing=FAST)
    reply = await responder.respond("Who is the guide? Cite like [2].", context=HARBOUR, history=[])
    allowed = {r for c in HARBOUR for r in c.chunk.refs}
    assert set(reply.citations) <= allowed
