"""The platform's system prompt reaches the model for its own request only; Tavus's conversation id.

A real server on a loopback port, driven by the official ``openai`` client; both tiers are
:class:`Recorder`, a responder at the model edge that takes host instructions and keeps
what each call received, so a test sees exactly what the model would have been given.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field

import httpx
import openai
import pytest

from contextual_avatar import EngineConfig, Parts, Reply, ScoredChunk, TokenUsage, Turn
from contextual_avatar.server import ApiKey, ServerSettings, create_app
from contextual_avatar.testing import running_server

ALICE = "alice-instr-0123456789"
BOB = "bob-instr-0123456789ab"


@dataclass
class Call:
    question: str
    instructions: str | None
    history: list[Turn]


@dataclass
class Recorder:
    """Streams a fixed answer and records each call's question, instructions and history."""

    model: str = "recorder"
    calls: list[Call] = field(default_factory=list)

    async def respond(
        self,
        question: str,
        *,
        context: Sequence[ScoredChunk],
        history: Sequence[Turn],
        instructions: str | None = None,
    ) -> Reply:
        items = [
            i
            async for i in self.stream(
                question, context=context, history=history, instructions=instructions
            )
        ]
        reply = items[-1]
        assert isinstance(reply, Reply)
        return reply

    async def stream(
        self,
        question: str,
        *,
        context: Sequence[ScoredChunk],
        history: Sequence[Turn],
        instructions: str | None = None,
    ) -> AsyncIterator[str | Reply]:
        self.calls.append(Call(question, instructions, list(history)))
        yield "Noted."
        yield Reply("Noted.", (), TokenUsage(5, 1), 0.0, self.model)

    def last(self, question: str) -> Call:
        return next(c for c in reversed(self.calls) if c.question == question)


@dataclass
class Site:
    base_url: str
    recorder: Recorder

    def client(self, key: str = ALICE) -> openai.OpenAI:
        return openai.OpenAI(base_url=f"{self.base_url}/v1", api_key=key, max_retries=0)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, embedder) -> Iterator[Site]:
    recorder = Recorder()
    settings = ServerSettings(
        api_keys=[ApiKey(key=ALICE, name="alice"), ApiKey(key=BOB, name="bob")]
    )
    config = EngineConfig(
        data_dir=tmp_path_factory.mktemp("instructions"),
        routing={
            "small": {"model": "recorder", "input_usd_per_mtok": 0, "output_usd_per_mtok": 0},
            "large": {"model": "recorder", "input_usd_per_mtok": 0, "output_usd_per_mtok": 0},
        },
    )
    parts = Parts(embedder=embedder, small=recorder, large=recorder)
    with running_server(create_app(settings=settings, config=config, parts=parts)) as base_url:
        yield Site(base_url, recorder)


def ask(site: Site, messages: list[dict[str, str]], *, key: str = ALICE, **kw) -> str:
    reply = site.client(key).chat.completions.create(
        model="contextual-avatar", messages=messages, **kw
    )
    return reply.choices[0].message.content or ""


def test_system_and_developer_messages_reach_the_model(site: Site):
    tag = uuid.uuid4().hex
    question = f"Who are you? {tag}"
    ask(
        site,
        [
            {"role": "system", "content": f"You are Captain Zog {tag}."},
            {"role": "developer", "content": "Answer in one sentence."},
            {"role": "user", "content": question},
        ],
        user=tag,
    )
    assert site.recorder.last(question).instructions == (
        f"You are Captain Zog {tag}.\n\nAnswer in one sentence."
    )


def test_streamed_requests_carry_them_too(site: Site):
    tag = uuid.uuid4().hex
    question = f"Streamed {tag}"
    stream = site.client().chat.completions.create(
        model="contextual-avatar",
        messages=[
            {"role": "system", "content": f"Persona {tag}"},
            {"role": "user", "content": question},
        ],
        user=tag,
        stream=True,
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "Noted."
    assert site.recorder.last(question).instructions == f"Persona {tag}"


def test_a_request_without_a_system_prompt_gets_none(site: Site):
    question = f"Plain {uuid.uuid4().hex}"
    ask(site, [{"role": "user", "content": question}])
    assert site.recorder.last(question).instructions is None


def test_instructions_never_reach_another_session_or_the_stores(site: Site, caplog):
    caplog.set_level(logging.DEBUG)
    secret = f"SECRET-PERSONA-{uuid.uuid4().hex}"
    mine, theirs = uuid.uuid4().hex, uuid.uuid4().hex
    first = f"First {mine}"
    ask(
        site,
        [{"role": "system", "content": secret}, {"role": "user", "content": first}],
        user=mine,
    )
    assert site.recorder.last(first).instructions == secret
    # Another session of the same key, another key, and the same session's next request
    # without a system prompt: none of them is given the first request's instructions.
    for key, session, question in (
        (ALICE, theirs, f"Other session {theirs}"),
        (BOB, mine, f"Other key {mine}"),
        (ALICE, mine, f"Next turn {mine}"),
    ):
        ask(site, [{"role": "user", "content": question}], key=key, user=session)
        call = site.recorder.last(question)
        assert call.instructions is None
        assert secret not in json.dumps([c.__dict__ for c in [call]], default=str)
    # Not kept in the session's history, nor written to any log line.
    with httpx.Client(base_url=site.base_url, headers={"Authorization": f"Bearer {ALICE}"}) as h:
        turns = h.get(f"/api/sessions/{mine}").json()["turns"]
    assert [t["question"] for t in turns] == [first, f"Next turn {mine}"]
    assert secret not in json.dumps(turns)
    assert secret not in caplog.text


def test_too_long_instructions_are_a_clear_400(site: Site):
    with pytest.raises(openai.BadRequestError) as err:
        ask(
            site,
            [{"role": "system", "content": "x" * 16_001}, {"role": "user", "content": "Hi?"}],
        )
    assert "instructions" in str(err.value)


def test_tavus_conversation_id_header_is_the_session_namespaced_by_key(site: Site):
    conversation = f"c{uuid.uuid4().hex[:12]}"
    raw = site.client().with_raw_response
    one = raw.chat.completions.create(
        model="contextual-avatar",
        messages=[{"role": "user", "content": f"Hello {conversation}"}],
        extra_headers={"conversation_id": conversation},
    )
    assert one.headers["x-session-id"] == conversation
    # Tavus sends only the new utterance when it likes: the session still has the turn.
    again = f"Again {conversation}"
    ask(site, [{"role": "user", "content": again}], extra_headers={"conversation-id": conversation})
    assert [t.question for t in site.recorder.last(again).history] == [f"Hello {conversation}"]
    # The same conversation id under another key is another session.
    bob = f"Bob {conversation}"
    ask(
        site,
        [{"role": "user", "content": bob}],
        key=BOB,
        extra_headers={"conversation_id": conversation},
    )
    assert site.recorder.last(bob).history == []
    # An explicit session id still wins over the platform's header.
    raw_two = raw.chat.completions.create(
        model="contextual-avatar",
        messages=[{"role": "user", "content": f"Named {conversation}"}],
        extra_headers={"conversation_id": conversation, "X-Session-Id": "named-" + conversation},
    )
    assert raw_two.headers["x-session-id"] == "named-" + conversation
