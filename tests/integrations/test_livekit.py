"""The LiveKit hook on real livekit-agents objects: an Agent, its ChatContext, ChatMessages."""

from __future__ import annotations

import asyncio

from livekit.agents import Agent, llm

from contextual_avatar import AsyncContextEngine, SourceRef
from contextual_avatar.integrations._turn import CONTEXT_HEADER
from contextual_avatar.integrations.livekit import CitedTurn, add_cited_context, speakable

from .expect import children_price

ADULT = "How much does an adult ticket cost?"


class Avatar(Agent):
    """The agent of docs/integrations.md: cited context on every user turn."""

    def __init__(self, engine: AsyncContextEngine, call_id: str) -> None:
        super().__init__(instructions="You are the museum's guide.")
        self._engine, self._call_id = engine, call_id
        self.turns: list[CitedTurn | None] = []

    async def on_user_turn_completed(
        self, turn_ctx: llm.ChatContext, new_message: llm.ChatMessage
    ) -> None:
        turn = await add_cited_context(
            self._engine, turn_ctx, new_message, session_id=self._call_id
        )
        self.turns.append(turn)


async def user_turn(agent: Avatar, text: str) -> llm.ChatContext:
    """What LiveKit does at the end of a user turn: a copy of the agent's context for the hook."""
    turn_ctx = agent.chat_ctx.copy()
    message = llm.ChatMessage(role="user", content=[text])
    await agent.on_user_turn_completed(turn_ctx, new_message=message)
    turn_ctx.items.append(message)  # LiveKit adds the user's message after the hook
    return turn_ctx


async def test_the_hook_adds_cited_context_right_before_the_users_message(
    engine: AsyncContextEngine,
):
    agent = Avatar(engine, "room-1")
    before = [m.text_content for m in agent.chat_ctx.messages()]
    turn_ctx = await user_turn(agent, ADULT)
    *_, source, question = turn_ctx.messages()
    assert question.role == "user" and question.text_content == ADULT
    assert source.role == "system"
    assert source.text_content.startswith(CONTEXT_HEADER)
    assert "Tickets cost 9 euros for adults." in source.text_content
    assert "(guide.pdf p. 1; guide.pdf p. 2)" in source.text_content
    (turn,) = agent.turns
    assert turn is not None and turn.session_id == "room-1"
    assert SourceRef("guide.pdf", page=2) in turn.citations
    assert SourceRef("guide.pdf", page=2) in turn.sources
    # The hook edited LiveKit's copy: the agent's own context is as it was.
    assert [m.text_content for m in agent.chat_ctx.messages()] == before
    # The provider format LiveKit sends to an OpenAI-compatible LLM keeps the order.
    messages, _ = turn_ctx.to_provider_format("openai")
    assert [m["role"] for m in messages][-2:] == ["system", "user"]


async def test_a_follow_up_is_grounded_in_the_sessions_previous_turn(engine: AsyncContextEngine):
    agent = Avatar(engine, "room-2")
    await user_turn(agent, ADULT)
    turn_ctx = await user_turn(agent, "And for children?")
    follow_up = agent.turns[-1]
    assert follow_up is not None
    assert children_price(follow_up.answer.text)
    assert follow_up.answer.cache_hit  # the session's cache served it: no index search
    assert "Children aged 4 to 15 pay 5 euros" in turn_ctx.messages()[-2].text_content


async def test_a_message_without_text_adds_nothing(engine: AsyncContextEngine):
    agent = Avatar(engine, "room-3")
    turn_ctx = agent.chat_ctx.copy()
    items = list(turn_ctx.items)
    turn = await add_cited_context(
        engine, turn_ctx, llm.ChatMessage(role="user", content=["   "]), session_id="room-3"
    )
    assert turn is None
    assert turn_ctx.items == items
    assert await engine.parts.history.recent("room-3") == []


async def test_two_rooms_at_once_never_see_each_others_turns(engine: AsyncContextEngine):
    """Many callers: two agents on one engine, turns interleaved, sessions apart."""
    plans = {
        "room-a": [ADULT, "And for children?"],
        "room-b": ["How do I get there by tram?", "Is there a car park?"],
    }
    agents = {room: Avatar(engine, room) for room in plans}

    async def talk(room: str) -> None:
        for question in plans[room]:
            await user_turn(agents[room], question)
            await asyncio.sleep(0)  # let the other room's turn interleave

    await asyncio.gather(*(talk(room) for room in plans))
    for room, questions in plans.items():
        turns = agents[room].turns
        assert [t.session_id for t in turns if t] == [room, room]
        assert [t.question for t in turns if t] == questions
        history = await engine.parts.history.recent(room)
        assert [t.question for t in history] == questions
    a, b = (agents[room].turns for room in plans)
    assert children_price(a[1].answer.text)
    assert "Dock Street" in b[1].answer.text


async def test_speakable_keeps_citation_markers_out_of_the_tts_input():
    async def llm_text():  # deltas as an LLM streams them, a marker split across three
        for delta in ("Tickets cost 9 euros", " [", "1", "] for adults [2, 3].", " Welcome!"):
            yield delta

    spoken = [text async for text in speakable(llm_text())]
    assert "".join(spoken) == "Tickets cost 9 euros for adults. Welcome!"
