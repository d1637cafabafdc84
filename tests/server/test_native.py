"""The native API over a real port: uploads with jobs, limits, hostile names and ids, SSE, WebSocket."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
from websockets.sync.client import connect

from tests.server.conftest import ALICE, BOB, Served

ADULT = "How much does an adult ticket cost?"


def test_an_upload_is_a_job_whose_progress_can_be_followed(served: Served, tmp_path):
    http = served.http(ALICE)
    text = "The lighthouse keeper's cat is called Biscuit and sleeps on the lamp room stairs."
    started = http.put(f"/api/documents/cat-{uuid.uuid4().hex[:6]}.txt", content=text.encode())
    assert started.status_code == 202
    job = started.json()
    assert job["state"] in {"running", "done"}
    for _ in range(600):
        job = http.get(f"/api/jobs/{job['id']}").json()
        if job["state"] != "running":
            break
        httpx.get(f"{served.base_url}/healthz")  # a real round trip between polls
    assert job["state"] == "done", job
    assert job["report"]["chunks"] >= 1 and job["stage"] == "done"
    assert job["name"] in [d["name"] for d in http.get("/api/documents").json()]


@pytest.mark.parametrize(
    "name", ["..", ".hidden", "a/b.txt", "..%2F..%2Fetc%2Fpasswd", "x" * 300, "name.part"]
)
def test_hostile_upload_names_never_leave_the_upload_folder(served: Served, name):
    response = served.http(ALICE).put(f"/api/documents/{name}", content=b"hello")
    assert response.status_code in {400, 404, 405}, response.text
    assert response.json()["error"]["message"]
    assert not (served.engine.config.data_dir.parent / "etc").exists()


def test_oversized_and_malformed_bodies_are_4xx_with_a_message(served: Served):
    http = served.http(ALICE)
    big = {"model": "contextual-avatar", "messages": [{"role": "user", "content": "x" * 70_000}]}
    response = http.post("/v1/chat/completions", json=big)
    assert response.status_code == 413
    assert "limit" in response.json()["error"]["message"]
    upload = http.put("/api/documents/big.txt", content=b"x" * (2 * 1024 * 1024 + 1))
    assert upload.status_code == 413
    bad = http.post(
        "/v1/chat/completions", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert bad.status_code == 400 and bad.json()["error"]["message"]
    chunked = http.post(
        "/v1/chat/completions",
        content=iter([b"{" + b" " * 40_000, b" " * 40_000 + b"}"]),
        headers={"content-type": "application/json"},
    )
    assert chunked.status_code == 413


@pytest.mark.parametrize("session", ["a b", "x" * 200, "semi;colon", "../x"])
def test_hostile_session_ids_are_400s(served: Served, session):
    response = served.http(ALICE).post(f"/api/sessions/{session}/ask", json={"question": ADULT})
    assert response.status_code in {400, 404}
    assert response.json()["error"]["message"]


def test_the_openai_session_id_is_checked(served: Served):
    body = {"model": "contextual-avatar", "messages": [{"role": "user", "content": ADULT}]}
    for bad in ("", "x" * 129, "tab\there"):
        response = served.http(ALICE).post(
            "/v1/chat/completions", json=body, headers={"X-Session-Id": bad}
        )
        assert response.status_code == 400, bad
        assert "session id" in response.json()["error"]["message"]


def test_sse_streams_deltas_then_a_cited_answer(served: Served):
    session = uuid.uuid4().hex
    events = []
    with served.http(ALICE).stream(
        "POST", f"/api/sessions/{session}/stream", json={"question": ADULT}
    ) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        kind = None
        for line in r.iter_lines():
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: "):
                events.append((kind, json.loads(line.removeprefix("data: "))))
    assert events[-1][0] == "answer"
    answer = events[-1][1]
    assert "".join(d for k, d in events[:-1]) == answer["text"]
    assert answer["citations"][0]["label"] == "guide.pdf p. 2"
    assert "9 euros" in answer["citations"][0]["quote"]
    assert set(answer["timings_ms"]) >= {"total", "answer"}


def test_websocket_needs_a_key_and_barges_in(served: Served):
    url = served.base_url.replace("http://", "ws://") + f"/api/sessions/{uuid.uuid4().hex}/ws"
    with connect(url, open_timeout=30) as ws:  # no header: authenticate in the first message
        ws.send(json.dumps({"type": "auth", "api_key": "wrong-key-0123456789"}))
        refused = json.loads(ws.recv(timeout=30))
        assert refused["type"] == "error" and refused["status"] == 401
    with connect(url, open_timeout=30, additional_headers={"Authorization": f"Bearer {BOB}"}) as ws:
        ws.send(json.dumps({"question": "Write a very long poem about sailing ships at sea."}))
        assert json.loads(ws.recv(timeout=30))["type"] == "delta"
        ws.send(json.dumps({"type": "cancel"}))
        kinds = []
        while not kinds or kinds[-1] not in {"interrupted", "answer"}:
            kinds.append(json.loads(ws.recv(timeout=30))["type"])
        assert kinds[-1] == "interrupted"
        ws.send(json.dumps({"question": ADULT}))
        messages = []
        while not messages or messages[-1]["type"] != "answer":
            messages.append(json.loads(ws.recv(timeout=30)))
        assert "9 euros" in messages[-1]["text"]


def test_deleting_a_document(served: Served):
    http = served.http(ALICE)
    name = f"temp-{uuid.uuid4().hex[:6]}.txt"
    made = http.put(
        f"/api/documents/{name}", params={"wait": "true"}, content=b"Ferries leave at noon."
    )
    assert made.status_code == 200
    response = http.delete(f"/api/documents/{name}")
    assert response.status_code == 204
    assert name not in [d["name"] for d in http.get("/api/documents").json()]
    assert http.delete(f"/api/documents/{name}").status_code == 404
