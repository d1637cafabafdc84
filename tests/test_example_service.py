"""examples/service.py (the package server) over real HTTP: its own process, httpx and websockets."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from contextual_avatar.testing import LLMServer

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parent.parent
GUIDE = REPO / "examples" / "data" / "guide.pdf"
POEM = "Write a very long poem about sailing ships at sea."


@pytest.fixture(scope="module")
def llm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LLMServer]:
    """A real local LLM (SmolLM2) as the large tier, so a weak-evidence answer streams long."""
    with LLMServer(threads=1, log_path=tmp_path_factory.mktemp("llm") / "server.log") as server:
        yield server


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory, llm: LLMServer) -> Iterator[str]:
    data = tmp_path_factory.mktemp("service")
    env = {
        **os.environ,
        "CONTEXTUAL_AVATAR_DATA_DIR": str(data),
        "CONTEXTUAL_AVATAR_ROUTING__LARGE__MODEL": llm.model,
        "CONTEXTUAL_AVATAR_ROUTING__LARGE__API_BASE": llm.api_base,
        "CONTEXTUAL_AVATAR_ROUTING__LARGE__CONTEXT_WINDOW": str(llm.n_ctx),
        "CONTEXTUAL_AVATAR_ROUTING__LARGE__MAX_OUTPUT_TOKENS": "400",
        "CONTEXTUAL_AVATAR_ROUTING__LARGE__INPUT_USD_PER_MTOK": "0",
        "CONTEXTUAL_AVATAR_ROUTING__LARGE__OUTPUT_USD_PER_MTOK": "0",
    }
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "examples" / "service.py"), "--port", "0"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    log: list[str] = []
    port = None
    for line in proc.stderr:  # uvicorn says where it listens once startup is complete
        log.append(line)
        if found := re.search(r"Uvicorn running on http://127\.0\.0\.1:(\d+)", line):
            port = int(found.group(1))
            break
    assert port is not None, "".join(log)
    threading.Thread(target=lambda: [log.append(x) for x in proc.stderr or ()], daemon=True).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=120) as http:
        response = upload(http, "guide.pdf", GUIDE.read_bytes())
        assert response.status_code == 200, response.text
        # Use the large tier once first: routing registers a tier's configured prices on its
        # first call, and a small-tier turn prices its large-tier baseline (ConfigError before).
        # Reading one delta and hanging up is also a client barge-in over SSE.
        params = {"question": POEM}
        with http.stream("GET", f"/api/sessions/{new_session(http)}/stream", params=params) as r:
            assert r.status_code == 200
            assert next(r.iter_lines()) == "event: delta"
        yield http


def upload(client: httpx.Client, name: str, content: bytes) -> httpx.Response:
    return client.put(f"/api/documents/{name}", params={"wait": "true"}, content=content)


def new_session(client: httpx.Client) -> str:
    response = client.post("/api/sessions")
    assert response.status_code == 201
    return response.json()["session_id"]


def sse(client: httpx.Client, session: str, question: str) -> list[tuple[str, object]]:
    events = []
    with client.stream(
        "GET", f"/api/sessions/{session}/stream", params={"question": question}
    ) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        event = None
        for line in r.iter_lines():
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: "):
                events.append((event, json.loads(line.removeprefix("data: "))))
    return events


def names(client: httpx.Client) -> list[str]:
    return [d["name"] for d in client.get("/api/documents").json()]


def test_upload_is_indexed_once_and_listed(client: httpx.Client):
    before = names(client)
    again = upload(client, "guide.pdf", GUIDE.read_bytes())
    assert again.json()["report"]["unchanged"] is True
    assert names(client) == before
    assert before.count("guide.pdf") == 1


def test_the_same_bytes_under_a_new_name_are_listed_under_it(client: httpx.Client):
    copy = upload(client, "guide-copy.pdf", GUIDE.read_bytes())
    assert copy.status_code == 200, copy.text
    body = copy.json()["report"]
    assert (body["name"], body["kind"], body["unchanged"]) == ("guide-copy.pdf", "pdf", True)
    listed = {d["name"]: d["doc_id"] for d in client.get("/api/documents").json()}
    assert listed["guide-copy.pdf"] == listed["guide.pdf"]
    # Not read as text: the bytes are a PDF, whatever the new name says.
    refused = upload(client, "guide.txt", GUIDE.read_bytes())
    assert refused.status_code == 400
    assert "already indexed as pdf" in refused.json()["error"]["message"]
    assert "guide.txt" not in names(client)


def test_bad_uploads_are_refused_and_leave_the_index_alone(client: httpx.Client):
    before = names(client)
    refused = upload(client, "notes.exe", b"MZ")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "IngestError"
    assert upload(client, ".hidden", b"x").status_code == 400
    assert names(client) == before


def test_ask_returns_a_cited_answer(client: httpx.Client):
    body = client.post(
        f"/api/sessions/{new_session(client)}/ask",
        json={"question": "How much does an adult ticket cost?"},
    ).json()
    assert "9 euros" in body["text"]
    assert "guide.pdf p. 2" in [c["label"] for c in body["citations"]]
    assert body["route"]["tier"] == "small"
    assert body["timings_ms"]["total"] > 0


def test_sse_streams_deltas_then_the_answer_and_sessions_are_separate(client: httpx.Client):
    alice, bob = new_session(client), new_session(client)
    client.post(
        f"/api/sessions/{alice}/ask", json={"question": "How much does an adult ticket cost?"}
    )
    events = sse(client, alice, "And for children?")
    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "answer"
    assert set(kinds[:-1]) == {"delta"}
    answer = events[-1][1]
    assert isinstance(answer, dict)
    assert "".join(str(data) for _, data in events[:-1]) == answer["text"]
    assert "5 euros" in answer["text"]
    assert answer["cache_hit"] is True  # the follow-up is served from Alice's cache
    bob_answer = sse(client, bob, "And for children?")[-1][1]
    assert isinstance(bob_answer, dict)
    assert bob_answer["cache_hit"] is False  # Bob's session has its own, empty cache


def test_bad_input_is_a_422_before_any_stream(client: httpx.Client):
    response = client.get(f"/api/sessions/{new_session(client)}/stream", params={"question": " "})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "InputError"


def receive_until(ws, kinds: set[str]) -> list[dict]:
    messages: list[dict] = []
    while not messages or messages[-1]["type"] not in kinds:
        messages.append(json.loads(ws.recv(timeout=120)))
    return messages


def test_websocket_streams_and_a_barge_in_cancels_the_answer(base_url: str, client: httpx.Client):
    session = new_session(client)
    url = base_url.replace("http://", "ws://") + f"/api/sessions/{session}/ws"
    with connect(url, open_timeout=30, close_timeout=5) as ws:
        # Off-topic: weak retrieval evidence routes to the large tier (the local LLM),
        # which streams for seconds; cancel after its first words.
        ws.send(json.dumps({"question": POEM}))
        first = json.loads(ws.recv(timeout=120))
        assert first["type"] == "delta"
        ws.send(json.dumps({"type": "cancel"}))
        rest = receive_until(ws, {"interrupted", "answer"})
        assert rest[-1]["type"] == "interrupted", rest[-1]

        # The session goes on after the barge-in, streamed the same way.
        ws.send(json.dumps({"question": "How much does an adult ticket cost?"}))
        messages = receive_until(ws, {"answer"})
        assert "9 euros" in messages[-1]["text"]
        assert messages[-1]["route"]["tier"] == "small"
        assert {m["type"] for m in messages[:-1]} == {"delta"}
        assert "".join(m["text"] for m in messages[:-1]) == messages[-1]["text"]


def test_forget_drops_the_session(client: httpx.Client):
    session = new_session(client)
    client.post(
        f"/api/sessions/{session}/ask", json={"question": "How much does an adult ticket cost?"}
    )
    assert client.delete(f"/api/sessions/{session}").status_code == 204
    body = client.post(
        f"/api/sessions/{session}/ask", json={"question": "And for children?"}
    ).json()
    assert body["cache_hit"] is False
