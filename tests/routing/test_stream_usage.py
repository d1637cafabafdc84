"""Token counts read from a real OpenAI-compatible server's stream (llama.cpp, SmolLM2)."""

from __future__ import annotations

import httpx
import pytest

from contextual_avatar.routing import LiteLLMResponder, RoutingConfig
from contextual_avatar.routing._litellm import import_litellm, read_usage, stream_options

from .helpers import HARBOUR

pytestmark = pytest.mark.slow

FAST = RoutingConfig(retries=0, timeout_s=120, first_token_timeout_s=120)


async def test_a_stream_asked_for_usage_ends_with_the_servers_counts(llm_server, local_tier):
    litellm = import_litellm()
    messages = [{"role": "user", "content": "Name one colour."}]
    usages = []
    for options in ({}, stream_options()):
        resp = await litellm.acompletion(
            model=llm_server.model, messages=messages, api_base=llm_server.api_base,
            api_key="x", stream=True, max_tokens=4, **options,
        )  # fmt: skip
        usage = None
        async for chunk in resp:
            usage = getattr(chunk, "usage", None) or usage
        usages.append(read_usage(usage))
    unasked, asked = usages
    assert unasked.prompt is None  # without include_usage the stream carries no counts
    assert asked.prompt is not None and asked.prompt > 5
    assert asked.completion is not None and 0 < asked.completion <= 4
    # The count is the server's own tokenizer's: ask the server to count the same text.
    async with httpx.AsyncClient() as http:
        r = await http.post(
            llm_server.api_base.removesuffix("/v1") + "/extras/tokenize/count",
            json={"input": "Name one colour.", "model": llm_server.model.split("/", 1)[1]},
        )
    if r.status_code == 200:
        assert asked.prompt > r.json()["count"]  # the chat template adds its own tokens


async def test_the_client_reports_the_servers_prompt_tokens(llm_server, local_tier):
    responder = LiteLLMResponder(local_tier, routing=FAST)
    reply = await responder.respond("Who is the guide?", context=HARBOUR, history=[])
    packer = await responder.packer()
    prompt = packer.pack("Who is the guide?", context=HARBOUR, history=[])
    litellm = import_litellm()
    resp = await litellm.acompletion(
        model=llm_server.model, messages=list(prompt.messages), api_base=llm_server.api_base,
        api_key="x", stream=True, max_tokens=1, **stream_options(),
    )  # fmt: skip
    usage = None
    async for chunk in resp:
        usage = getattr(chunk, "usage", None) or usage
    server = read_usage(usage)
    assert server.prompt == reply.tokens.prompt  # the reply carries the server's count


def test_usage_is_read_from_openai_and_anthropic_shapes():
    openai = read_usage(
        {"prompt_tokens": 1200, "completion_tokens": 9,
         "prompt_tokens_details": {"cached_tokens": 1024}}
    )  # fmt: skip
    assert (openai.prompt, openai.completion, openai.cached, openai.written) == (
        1200, 9, 1024, None,
    )  # fmt: skip
    anthropic = read_usage(
        {"prompt_tokens": 3000, "completion_tokens": 5, "cache_read_input_tokens": 2000,
         "cache_creation_input_tokens": 700}
    )  # fmt: skip
    assert (anthropic.cached, anthropic.written) == (2000, 700)
    nothing = read_usage(None)
    assert (nothing.prompt, nothing.cached) == (None, None)
