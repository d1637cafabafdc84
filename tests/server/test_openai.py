"""The OpenAI-compatible endpoint with the official ``openai`` client, sync and async, on a real port."""

from __future__ import annotations

import time
import uuid

import httpx
import openai
import pytest

from tests.server.conftest import ALICE, BOB, CAROL, OFF_TOPIC, Served

ADULT = "How much does an adult ticket cost?"


def client(served: Served, key: str = ALICE) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{served.base_url}/v1", api_key=key, max_retries=0)


def aclient(served: Served, key: str = ALICE) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=f"{served.base_url}/v1", api_key=key, max_retries=0)


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def test_models_lists_the_default_knowledge_base(served: Served):
    ids = [m.id for m in client(served).models.list()]
    assert ids[0] == "contextual-avatar"


def test_a_completion_is_cited_outside_the_spoken_text(served: Served):
    reply = client(served).chat.completions.create(
        model="contextual-avatar", messages=[user(ADULT)], user=uuid.uuid4().hex
    )
    text = reply.choices[0].message.content
    assert "9 euros" in text
    assert reply.choices[0].finish_reason == "stop"
    extra = reply.model_extra or {}
    labels = [c["label"] for c in extra["citations"]]
    assert "guide.pdf p. 2" in labels
    assert "9 euros" in extra["citations"][labels.index("guide.pdf p. 2")]["quote"]
    assert "guide.pdf" not in text
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
    assert reply.usage.completion_tokens > 0
    served_how = extra["contextual_avatar"]
    assert served_how["route"]["tier"] == "small"
    assert served_how["timings_ms"]["total"] > 0


def test_streamed_deltas_join_to_the_answer_and_usage_comes_last(served: Served):
    session = uuid.uuid4().hex
    stream = client(served).chat.completions.create(
        model="contextual-avatar",
        messages=[user(ADULT)],
        user=session,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "9 euros" in text
    finish = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert len(finish) == 1 and finish[0].choices[0].finish_reason == "stop"
    assert "guide.pdf p. 2" in [c["label"] for c in finish[0].model_extra["citations"]]
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens > 0
    assert all(c.usage is None for c in chunks[:-1])
    assert len({c.id for c in chunks}) == 1


def test_without_include_usage_no_usage_chunk(served: Served):
    chunks = list(
        client(served).chat.completions.create(
            model="contextual-avatar", messages=[user(ADULT)], stream=True
        )
    )
    assert chunks[-1].choices and chunks[-1].choices[0].finish_reason == "stop"


async def test_async_client_streamed_and_not_with_a_follow_up(served: Served):
    api = aclient(served)
    session = uuid.uuid4().hex
    first = await api.chat.completions.create(
        model="contextual-avatar", messages=[user(ADULT)], user=session
    )
    assert "9 euros" in first.choices[0].message.content
    messages = [
        user(ADULT),
        {"role": "assistant", "content": first.choices[0].message.content},
        user("And for children?"),
    ]
    stream = await api.chat.completions.create(
        model="contextual-avatar", messages=messages, user=session, stream=True
    )
    parts, last = [], None
    async for chunk in stream:
        parts.append(chunk.choices[0].delta.content or "")
        last = chunk
    assert "5 euros" in "".join(parts)
    assert last.model_extra["contextual_avatar"]["cache_hit"] is True  # the session's cache
    await api.close()


def test_spoken_text_has_no_citation_markers_even_when_the_model_writes_them(served: Served):
    # The large tier writes "[1]" every 50 words; here it is allowed to finish a short answer.
    served.paced.words = 120
    try:
        reply = client(served).chat.completions.create(
            model="contextual-avatar", messages=[user(OFF_TOPIC)], user=uuid.uuid4().hex
        )
        streamed = "".join(
            c.choices[0].delta.content or ""
            for c in client(served).chat.completions.create(
                model="contextual-avatar",
                messages=[user(OFF_TOPIC)],
                stream=True,
                user=uuid.uuid4().hex,
            )
            if c.choices
        )
    finally:
        served.paced.words = 4000
    text = reply.choices[0].message.content
    assert reply.model_extra["contextual_avatar"]["route"]["tier"] == "large"
    assert "sail50" in text and "[" not in text
    assert streamed == text


def test_a_client_hanging_up_mid_stream_stops_the_answer(served: Served):
    session = uuid.uuid4().hex
    paced = served.paced
    closed_before, finished_before = paced.closed, paced.finished
    stream = client(served).chat.completions.create(
        model="contextual-avatar", messages=[user(OFF_TOPIC)], user=session, stream=True
    )
    seen = 0
    for chunk in stream:
        seen += len(chunk.choices[0].delta.content or "")
        if seen > 40:
            break
    stream.close()
    ledger = served.engine.ledger
    deadline = time.monotonic() + 30
    while not ledger.totals(f"alice/{session}").interrupted_turns and time.monotonic() < deadline:
        time.sleep(0.02)  # the server notices the hang-up on its own thread
    assert paced.closed == closed_before + 1, "the model was not stopped"
    assert paced.finished == finished_before
    assert ledger.totals(f"alice/{session}").interrupted_turns == 1
    turns = served.http(ALICE).get(f"/api/sessions/{session}").json()["turns"]
    assert len(turns) == 1 and "interrupted" in turns[0]["answer"]


def test_earlier_messages_seed_a_session_the_engine_has_not_seen(served: Served):
    session = uuid.uuid4().hex
    messages = [
        {"role": "system", "content": "You are the museum's guide."},
        user(ADULT),
        {"role": "assistant", "content": "Tickets cost 9 euros for adults."},
        user("And for children?"),
    ]
    api = client(served)
    reply = api.chat.completions.create(
        model="contextual-avatar", messages=messages, extra_headers={"X-Session-Id": session}
    )
    assert "5 euros" in reply.choices[0].message.content
    http = served.http(ALICE)
    turns = http.get(f"/api/sessions/{session}").json()["turns"]
    assert [t["question"] for t in turns] == [ADULT, "And for children?"]
    # Resending the whole conversation next turn does not seed it again.
    messages += [
        {"role": "assistant", "content": reply.choices[0].message.content},
        user("When do guided tours start?"),
    ]
    api.chat.completions.create(
        model="contextual-avatar", messages=messages, extra_headers={"X-Session-Id": session}
    )
    turns = http.get(f"/api/sessions/{session}").json()["turns"]
    assert [t["question"] for t in turns] == [
        ADULT,
        "And for children?",
        "When do guided tours start?",
    ]


def test_without_a_session_id_the_conversation_is_its_own_stable_session(served: Served):
    raw = client(served).with_raw_response
    system = {"role": "system", "content": f"persona {uuid.uuid4().hex}"}
    one = raw.chat.completions.create(model="contextual-avatar", messages=[system, user(ADULT)])
    sid = one.headers["x-session-id"]
    assert sid.startswith("conv-") and len(sid) == 37
    answer = one.parse().choices[0].message.content
    two = raw.chat.completions.create(
        model="contextual-avatar",
        messages=[
            system,
            user(ADULT),
            {"role": "assistant", "content": answer},
            user("And for children?"),
        ],
    )
    assert two.headers["x-session-id"] == sid
    assert two.parse().model_extra["contextual_avatar"]["cache_hit"] is True
    other = raw.chat.completions.create(
        model="contextual-avatar", messages=[system, user("When do guided tours start?")]
    )
    assert other.headers["x-session-id"] != sid


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"n": 2}, "n"),
        ({"tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]}, "tools"),
        ({"response_format": {"type": "json_object"}}, "response_format"),
        ({"logprobs": True}, "logprobs"),
    ],
)
def test_what_the_engine_cannot_honour_is_a_clear_400(served: Served, extra, param):
    with pytest.raises(openai.BadRequestError) as err:
        client(served).chat.completions.create(
            model="contextual-avatar", messages=[user(ADULT)], **extra
        )
    assert err.value.body["param"] == param
    assert "not supported" in err.value.body["message"]


def test_images_are_refused(served: Served):
    content = [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
    ]
    with pytest.raises(openai.BadRequestError, match="image_url"):
        client(served).chat.completions.create(
            model="contextual-avatar", messages=[{"role": "user", "content": content}]
        )


def test_text_parts_are_read(served: Served):
    content = [{"type": "text", "text": ADULT}]
    reply = client(served).chat.completions.create(
        model="contextual-avatar", messages=[{"role": "user", "content": content}]
    )
    assert "9 euros" in reply.choices[0].message.content


def test_the_last_message_must_be_the_users(served: Served):
    with pytest.raises(openai.BadRequestError, match="last message"):
        client(served).chat.completions.create(
            model="contextual-avatar",
            messages=[user(ADULT), {"role": "assistant", "content": "9 euros"}],
        )


def test_unknown_models_and_collections_are_404(served: Served):
    for model in ("gpt-4o", "contextual-avatar/nope", "contextual-avatar/../x"):
        with pytest.raises(openai.NotFoundError, match="does not exist"):
            client(served).chat.completions.create(model=model, messages=[user(ADULT)])


def test_keys_are_required_and_checked(served: Served):
    with pytest.raises(openai.AuthenticationError):
        client(served, "not-a-key-of-this-server").models.list()
    response = httpx.get(f"{served.base_url}/v1/models")
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"
    assert response.headers["www-authenticate"] == "Bearer"
    assert httpx.get(f"{served.base_url}/healthz").status_code == 200
    assert httpx.get(f"{served.base_url}/readyz").json() == {"ready": True}


def test_a_key_limited_to_some_collections_sees_only_them(served: Served):
    assert [m.id for m in client(served, CAROL).models.list()] == ["contextual-avatar"]
    reply = client(served, CAROL).chat.completions.create(
        model="contextual-avatar", messages=[user(ADULT)]
    )
    assert "9 euros" in reply.choices[0].message.content
    assert BOB  # bob's key has no name: it gets a derived one (see test_isolation)


def test_each_knowledge_base_is_a_model(served: Served):
    text = b"The harbour ferry to Sandvik leaves every day at 09:15 from pier 3."
    made = served.http(ALICE).put(
        "/api/documents/ferry.txt", params={"collection": "harbour", "wait": "true"}, content=text
    )
    assert made.status_code == 200, made.text
    ids = [m.id for m in client(served).models.list()]
    assert "contextual-avatar/harbour" in ids
    assert "contextual-avatar/harbour" not in [m.id for m in client(served, CAROL).models.list()]
    reply = client(served).chat.completions.create(
        model="contextual-avatar/harbour",
        messages=[user("When does the ferry to Sandvik leave?")],
        user=uuid.uuid4().hex,
    )
    assert "09:15" in reply.choices[0].message.content
    assert reply.model_extra["citations"][0]["source"] == "ferry.txt"
    assert reply.model_extra["contextual_avatar"]["collection"] == "harbour"
