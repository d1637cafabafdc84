"""Host instructions (a platform's system prompt) through the prompt, the seam and the tiers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contextual_avatar.errors import ModelError
from contextual_avatar.ingest import count_tokens
from contextual_avatar.routing import PromptPacker, Reply, Tiers, stream_reply
from contextual_avatar.routing._prompt import HOST_INSTRUCTIONS_HEAD, HOST_INSTRUCTIONS_TAIL
from contextual_avatar.routing._responder import takes_instructions
from contextual_avatar.types import ScoredChunk, Tier, TokenUsage, Turn

from .fakes import Scripted
from .helpers import HARBOUR

RULES = "Answer only from the sources and cite them."
PERSONA = "You are Captain Zog, a pirate. Speak like one."


def packer(budget: int = 4000) -> PromptPacker:
    return PromptPacker(system_prompt=RULES, count_tokens=count_tokens, budget_tokens=budget)


def test_host_instructions_sit_between_the_rules_and_the_sources():
    p = packer().pack("Who is the guide?", context=HARBOUR, instructions=PERSONA)
    system = p.messages[0]["content"]
    assert system.startswith(RULES)  # the library's rule opens the prompt, always
    assert (
        system.index(RULES)
        < system.index(HOST_INSTRUCTIONS_HEAD)
        < system.index(PERSONA)
        < system.index(HOST_INSTRUCTIONS_TAIL)
        < system.index("Sources:")
        < system.index("[1] (")
    )
    assert PERSONA not in "".join(m["content"] for m in p.messages[1:])


def test_without_instructions_the_prompt_is_unchanged():
    plain = packer().pack("Who is the guide?", context=HARBOUR)
    none = packer().pack("Who is the guide?", context=HARBOUR, instructions=None)
    assert plain == none
    assert HOST_INSTRUCTIONS_HEAD not in plain.messages[0]["content"]


def test_the_prefix_is_stable_per_session_and_differs_between_hosts():
    first = packer().pack("Who is the guide?", context=HARBOUR, instructions=PERSONA)
    later = packer().pack(
        "And the lighthouse?",
        context=list(reversed(HARBOUR)),
        history=[Turn("Who is the guide?", "Margaret, arr [2].")],
        instructions=PERSONA,
    )
    assert later.prefix_key == first.prefix_key
    other = packer().pack("Who is the guide?", context=HARBOUR, instructions="Be brief.")
    plain = packer().pack("Who is the guide?", context=HARBOUR)
    assert len({first.prefix_key, other.prefix_key, plain.prefix_key}) == 3


def test_sources_give_way_to_instructions_and_the_budget_holds():
    full = packer().pack("Who is the guide?", context=HARBOUR)
    with_persona = packer(budget=full.prompt_tokens).pack(
        "Who is the guide?", context=HARBOUR, instructions=PERSONA
    )
    assert PERSONA in with_persona.messages[0]["content"]
    assert with_persona.dropped_chunks > 0
    assert with_persona.prompt_tokens <= full.prompt_tokens


def test_instructions_too_long_for_the_window_are_cut_from_the_end(caplog):
    long_persona = PERSONA + " Never use long words." * 200
    p = packer(budget=120).pack("Who is the guide?", context=HARBOUR, instructions=long_persona)
    system = p.messages[0]["content"]
    assert system.startswith(RULES) and HOST_INSTRUCTIONS_TAIL in system
    assert PERSONA in system and long_persona not in system
    assert p.prompt_tokens <= 120
    assert p.messages[-1]["content"] == "Who is the guide?"
    assert "cut from" in caplog.text and "Zog" not in caplog.text  # the text is never logged


@given(st.text(min_size=1, max_size=200))
def test_any_instructions_keep_the_rules_first_and_the_question_last(text):
    p = packer().pack("Who is the guide?", context=HARBOUR, instructions=text)
    assert p.messages[0]["content"].startswith(RULES)
    assert p.messages[-1]["content"] == "Who is the guide?"
    assert p.prompt_tokens == sum(count_tokens(m["content"]) + 4 for m in p.messages)


class Instructed(Scripted):
    """A streaming responder that takes host instructions and records what it got."""

    def __init__(self, model: str, **kw) -> None:
        super().__init__(model, **kw)
        self.got: list[str | None] = []

    async def respond(
        self,
        question: str,
        *,
        context: Sequence[ScoredChunk],
        history: Sequence[Turn],
        instructions: str | None = None,
    ) -> Reply:
        self.got.append(instructions)
        return self._reply(context)

    async def stream(  # type: ignore[override]
        self,
        question: str,
        *,
        context: Sequence[ScoredChunk],
        history: Sequence[Turn],
        instructions: str | None = None,
    ) -> AsyncIterator[str | Reply]:
        self.got.append(instructions)
        async for item in super().stream(question, context=context, history=history):
            yield item


class Whole:
    """A non-streaming responder that takes instructions (``respond`` only)."""

    model = "whole"

    def __init__(self) -> None:
        self.got: list[str | None] = []

    async def respond(
        self,
        question: str,
        *,
        context: Sequence[ScoredChunk],
        history: Sequence[Turn],
        instructions: str | None = None,
    ) -> Reply:
        self.got.append(instructions)
        return Reply("Margaret.", (), TokenUsage(3, 1), 0.0, self.model)


async def collect(responder, instructions) -> list[str | Reply]:
    stream = stream_reply(responder, "Who?", context=HARBOUR, history=(), instructions=instructions)
    return [item async for item in stream]


def test_a_responder_that_takes_instructions_gets_them_streamed_or_not():
    streaming, whole = Instructed("s"), Whole()
    for responder in (streaming, whole):
        items = asyncio.run(collect(responder, PERSONA))
        assert isinstance(items[-1], Reply)
        asyncio.run(collect(responder, None))
        assert responder.got == [PERSONA, None]


def test_an_older_responder_is_called_as_before():
    legacy = Scripted("legacy")  # respond/stream without an `instructions` parameter
    assert not takes_instructions(legacy, "stream")
    items = asyncio.run(collect(legacy, PERSONA))
    assert "".join(i for i in items if isinstance(i, str)) == "Margaret is the guide."
    assert legacy.calls == 1


def test_the_signature_check_follows_the_class_not_a_stale_cache():
    assert takes_instructions(Instructed("a"), "stream")
    assert not takes_instructions(Scripted("b"), "stream")
    patched = Instructed("c")

    async def old_style(question, *, context, history):  # set on the instance only
        yield Reply("x", (), TokenUsage(1, 1), 0.0, "c")

    patched.stream = old_style  # type: ignore[method-assign]
    assert not takes_instructions(patched, "stream")
    assert takes_instructions(Instructed("d"), "stream")


def test_the_fallback_tier_gets_the_same_instructions():
    broken, spare = Instructed("small", fail_at=0), Instructed("large")
    tiers = Tiers(broken, spare)

    async def run() -> list[str | Reply]:
        stream = tiers.stream(Tier.SMALL, "Who?", context=HARBOUR, history=(), instructions=PERSONA)
        return [item async for item in stream]

    items = asyncio.run(run())
    assert isinstance(items[-1], Reply) and items[-1].fallback_from == "small"
    assert broken.got == [PERSONA] and spare.got == [PERSONA]


def test_a_failing_responder_still_raises_model_error_with_instructions():
    tiers = Tiers(Instructed("a", fail_at=0), Instructed("b", fail_at=0))

    async def run() -> None:
        async for _ in tiers.stream(Tier.LARGE, "Who?", context=(), history=(), instructions="x"):
            pass

    with pytest.raises(ModelError):
        asyncio.run(run())
