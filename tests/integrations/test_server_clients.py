"""The frameworks' own OpenAI clients against the real server on a real port.

Pipecat's ``OpenAILLMService(base_url=...)`` in a real pipeline and LiveKit Agents'
``openai.LLM(base_url=...)`` chat stream: each gets a grounded answer (citation markers
never in the text) and a follow-up that only makes sense after the previous turn.
"""

from __future__ import annotations

import asyncio

import httpx
from livekit.agents import APIConnectOptions, llm
from livekit.plugins import openai as lk_openai
from pipecat.frames.frames import LLMContextFrame
from pipecat.services.openai.llm import OpenAILLMService

from contextual_avatar.integrations import strip_citations

from .conftest import SERVER_KEY as KEY
from .expect import children_price
from .pipecat_harness import Recorder, conversation, run_pipeline, wait_for

ADULT = "How much does an adult ticket cost?"


async def session_turns(base_url: str, session: str) -> list[dict[str, str]]:
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {KEY}"}) as client:
        reply = await client.get(f"{base_url}/api/sessions/{session}")
    reply.raise_for_status()
    turns: list[dict[str, str]] = reply.json()["turns"]
    return turns


async def test_pipecats_openai_llm_service_gets_answers_and_follow_ups(server: str):
    llm_service = OpenAILLMService(
        base_url=f"{server}/v1",
        api_key=KEY,
        default_headers={"X-Session-Id": "pipecat-call-1"},
        settings=OpenAILLMService.Settings(model="contextual-avatar"),
    )

    async def script(worker, recorder: Recorder) -> None:
        await worker.queue_frame(LLMContextFrame(conversation(ADULT)))
        await wait_for(recorder.ended)
        recorder.ended.clear()
        follow_up = conversation(ADULT, recorder.spoken()[0], "And for children?")
        await worker.queue_frame(LLMContextFrame(follow_up))
        await wait_for(recorder.ended)

    recorder = await run_pipeline([llm_service], script)
    first, second = recorder.spoken()
    assert "9 euros" in first
    assert children_price(second)  # understood only after the first turn
    for text in (first, second):
        assert text == strip_citations(text) and "guide.pdf" not in text
    turns = await session_turns(server, "pipecat-call-1")
    assert [t["question"] for t in turns] == [ADULT, "And for children?"]


async def livekit_reply(model: lk_openai.LLM, chat_ctx: llm.ChatContext) -> str:
    parts: list[str] = []
    async with model.chat(chat_ctx=chat_ctx, conn_options=APIConnectOptions(max_retry=0)) as s:
        async for chunk in s:
            if chunk.delta is not None and chunk.delta.content:
                parts.append(chunk.delta.content)
    return "".join(parts)


async def test_livekit_openai_llm_chat_stream_gets_answers_and_follow_ups(server: str):
    model = lk_openai.LLM(
        base_url=f"{server}/v1", api_key=KEY, model="contextual-avatar", user="livekit-room-1"
    )
    try:
        chat_ctx = llm.ChatContext()
        chat_ctx.add_message(role="system", content="You are the museum's guide.")
        chat_ctx.add_message(role="user", content=ADULT)
        first = await livekit_reply(model, chat_ctx)
        chat_ctx.add_message(role="assistant", content=first)
        chat_ctx.add_message(role="user", content="And for children?")
        second = await livekit_reply(model, chat_ctx)
    finally:
        await model.aclose()
    assert "9 euros" in first
    assert children_price(second)
    for text in (first, second):
        assert text == strip_citations(text) and "guide.pdf" not in text
    turns = await session_turns(server, "livekit-room-1")
    assert [t["question"] for t in turns] == [ADULT, "And for children?"]


async def test_two_framework_clients_at_once_keep_their_sessions_apart(server: str):
    """Many callers: interleaved conversations through LiveKit's client, one per room."""
    plans = {
        "room-x": [ADULT, "And for children?"],
        "room-y": ["How do I get there by tram?", "Is there a car park?"],
    }

    async def talk(room: str) -> list[str]:
        model_for_room = lk_openai.LLM(
            base_url=f"{server}/v1", api_key=KEY, model="contextual-avatar", user=room
        )
        replies: list[str] = []
        chat_ctx = llm.ChatContext()
        try:
            for question in plans[room]:
                chat_ctx.add_message(role="user", content=question)
                replies.append(await livekit_reply(model_for_room, chat_ctx))
                chat_ctx.add_message(role="assistant", content=replies[-1])
                await asyncio.sleep(0)
        finally:
            await model_for_room.aclose()
        return replies

    x, y = await asyncio.gather(talk("room-x"), talk("room-y"))
    assert "9 euros" in x[0] and children_price(x[1])
    assert "tram line 4" in y[0] and "Dock Street" in y[1]
    for room, questions in plans.items():
        turns = await session_turns(server, room)
        assert [t["question"] for t in turns] == questions
