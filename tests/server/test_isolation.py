"""Many callers: two keys never see each other's answers, history, sessions, jobs or ids in logs."""

from __future__ import annotations

import logging
import uuid

import openai
import pytest

from tests.server.conftest import ALICE, BOB, CAROL, GUIDE, Served

ADULT = "How much does an adult ticket cost?"


def chat(served: Served, key: str, messages, **extra):
    api = openai.OpenAI(base_url=f"{served.base_url}/v1", api_key=key, max_retries=0)
    return api.chat.completions.create(model="contextual-avatar", messages=messages, **extra)


def test_equal_session_ids_under_two_keys_are_two_sessions(served: Served):
    shared = f"shared-{uuid.uuid4().hex}"
    first = chat(served, ALICE, [{"role": "user", "content": ADULT}], user=shared)
    assert "9 euros" in first.choices[0].message.content
    bob = chat(served, BOB, [{"role": "user", "content": "And for children?"}], user=shared)
    assert bob.model_extra["contextual_avatar"]["cache_hit"] is False  # not Alice's cache
    alice_turns = served.http(ALICE).get(f"/api/sessions/{shared}").json()["turns"]
    bob_turns = served.http(BOB).get(f"/api/sessions/{shared}").json()["turns"]
    assert [t["question"] for t in alice_turns] == [ADULT]
    assert [t["question"] for t in bob_turns] == ["And for children?"]
    # Bob forgetting "his" session leaves Alice's alone.
    assert served.http(BOB).delete(f"/api/sessions/{shared}").status_code == 204
    assert len(served.http(ALICE).get(f"/api/sessions/{shared}").json()["turns"]) == 1


def test_equal_conversations_under_two_keys_do_not_share_history(served: Served):
    secret = f"My locker code is {uuid.uuid4().hex[:6]}."
    system = {"role": "system", "content": "museum guide"}
    alice_messages = [
        system,
        {"role": "user", "content": secret},
        {"role": "assistant", "content": "Noted."},
        {"role": "user", "content": ADULT},
    ]
    raw = openai.OpenAI(base_url=f"{served.base_url}/v1", api_key=ALICE, max_retries=0)
    sid = raw.with_raw_response.chat.completions.create(
        model="contextual-avatar", messages=alice_messages
    ).headers["x-session-id"]
    bob_view = served.http(BOB).get(f"/api/sessions/{sid}").json()["turns"]
    assert bob_view == []
    alice_view = served.http(ALICE).get(f"/api/sessions/{sid}").json()["turns"]
    assert alice_view[0]["question"] == secret


def test_a_job_is_visible_only_to_its_key(served: Served):
    started = served.http(ALICE).put("/api/documents/guide-copy.pdf", content=GUIDE.read_bytes())
    assert started.status_code == 202
    job = started.json()["id"]
    assert served.http(BOB).get(f"/api/jobs/{job}").status_code == 404
    assert served.http(ALICE).get(f"/api/jobs/{job}").json()["name"] == "guide-copy.pdf"


def test_a_limited_key_cannot_reach_other_knowledge_bases(served: Served):
    http = served.http(CAROL)
    refused = http.put("/api/documents/notes.txt", params={"collection": "other"}, content=b"x")
    assert refused.status_code == 403
    assert "may not use" in refused.json()["error"]["message"]
    assert http.get("/api/documents", params={"collection": "other"}).status_code == 403
    names = [c["name"] for c in http.get("/api/collections").json()]
    assert names == ["default"]
    api = openai.OpenAI(base_url=f"{served.base_url}/v1", api_key=CAROL, max_retries=0)
    with pytest.raises(openai.PermissionDeniedError, match="may not use"):
        api.chat.completions.create(
            model="contextual-avatar/other", messages=[{"role": "user", "content": ADULT}]
        )


def test_session_ids_and_questions_never_reach_the_server_logs(served: Served, caplog):
    session = f"private-{uuid.uuid4().hex}"
    access = logging.getLogger("uvicorn.access")  # does not propagate: listen to it directly
    access.addHandler(caplog.handler)
    try:
        with (
            caplog.at_level(logging.DEBUG),
            caplog.at_level(logging.DEBUG, logger="uvicorn.access"),
        ):
            chat(served, ALICE, [{"role": "user", "content": ADULT}], user=session)
            http = served.http(ALICE)
            http.post(f"/api/sessions/{session}/ask", json={"question": ADULT})
            with http.stream(
                "GET", f"/api/sessions/{session}/stream", params={"question": "secret question"}
            ) as r:
                r.read()
    finally:
        access.removeHandler(caplog.handler)
    server = [r for r in caplog.records if r.name.startswith(("contextual_avatar", "uvicorn"))]
    assert any(r.name == "uvicorn.access" for r in server), "no access log: the check is empty"
    assert any("session" in r.getMessage() for r in server if r.name.startswith("contextual"))
    text = "\n".join(r.getMessage() for r in server)
    assert session not in text
    assert "secret" not in text
