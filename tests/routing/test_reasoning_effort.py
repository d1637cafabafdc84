"""Reasoning effort: the lowest level a reasoning model accepts, read from litellm's map.

gpt-5 models think at "medium" unless told otherwise and bill it as output; a spoken turn
asks for the lowest effort. The map decides (offline); the request on the wire is checked
against a recording stand-in for OpenAI's paid API over real HTTP.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from contextual_avatar.routing import LiteLLMResponder, LLMConfig, RoutingConfig
from contextual_avatar.routing._litellm import reasoning_options, sampling_options

from .helpers import HARBOUR


@pytest.mark.parametrize(
    ("model", "effort", "sent"),
    [
        ("gpt-5-mini", "lowest", "minimal"),  # the map: minimal yes, none no
        ("gpt-5.1", "lowest", "none"),  # the map: none yes
        ("gpt-5-mini", "high", "high"),  # an explicit level is passed on
        ("gpt-4o", "lowest", None),  # does not reason: nothing to turn down
        ("gpt-4o", "high", None),  # nor to turn up (litellm would reject the parameter)
        ("claude-sonnet-4-5", "lowest", None),  # thinks only when asked: stays off
        ("openai/smollm2", "lowest", None),  # not in the map: a local model
        ("gpt-5-mini", None, None),  # None: the provider's default
    ],
)
def test_the_effort_sent_follows_litellms_map(model: str, effort: Any, sent: str | None) -> None:
    expected = {} if sent is None else {"reasoning_effort": sent}
    assert reasoning_options(model, effort) == expected


def test_openais_reasoning_models_get_no_temperature_unless_they_do_not_reason() -> None:
    # litellm rejects temperature 0 for gpt-5 while it reasons: the tier could not answer.
    assert sampling_options("gpt-5-mini", "lowest", 0.0) == {"reasoning_effort": "minimal"}
    assert sampling_options("gpt-5-mini", None, 0.0) == {}
    assert sampling_options("gpt-5.1", "lowest", 0.0) == {
        "reasoning_effort": "none",
        "temperature": 0.0,
    }
    assert sampling_options("gpt-4o", "lowest", 0.3) == {"temperature": 0.3}
    assert sampling_options("claude-sonnet-4-5", "lowest", 0.0) == {"temperature": 0.0}
    assert sampling_options("openai/smollm2", "lowest", 0.0) == {"temperature": 0.0}


def test_the_default_tier_asks_for_the_lowest_effort() -> None:
    assert LLMConfig(model="gpt-5-mini").reasoning_effort == "lowest"
    with pytest.raises(ValueError, match="reasoning_effort"):
        LLMConfig(model="gpt-5-mini", reasoning_effort="fast")  # type: ignore[arg-type]


class _Recorder(BaseHTTPRequestHandler):
    """OpenAI's chat completions, streamed: records each request body, answers "Margaret"."""

    bodies: list[dict[str, Any]]

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.bodies.append(body)  # type: ignore[attr-defined]
        chunks = [
            {"choices": [{"index": 0, "delta": {"role": "assistant", "content": "Margaret [1]"}}]},
            {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
            {"choices": [], "usage": {"prompt_tokens": 90, "completion_tokens": 3,
                                      "total_tokens": 93}},
        ]  # fmt: skip
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for c in chunks:
            c |= {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "m"}
            self.wfile.write(f"data: {json.dumps(c)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    server.bodies = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", server.bodies  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(("model", "effort", "sent", "temperature"), [
    ("gpt-5-mini", "lowest", "minimal", None),
    ("gpt-5-mini", None, None, None),
    ("gpt-4o-mini", "lowest", None, 0.0),
])  # fmt: skip
async def test_the_client_sends_the_effort_on_the_wire(
    recorder: tuple[str, list[dict[str, Any]]],
    model: str,
    effort: Any,
    sent: str | None,
    temperature: float | None,
) -> None:
    base, bodies = recorder
    cfg = LLMConfig(model=model, api_base=base, api_key="sk-test", reasoning_effort=effort)
    responder = LiteLLMResponder(cfg, routing=RoutingConfig(retries=0, timeout_s=30))
    reply = await responder.respond("Who is the guide?", context=HARBOUR, history=[])
    assert reply.text.startswith("Margaret")
    assert reply.tokens.completion == 3  # the stand-in's usage chunk was read
    (body,) = bodies
    assert body.get("reasoning_effort") == sent
    assert body.get("temperature") == temperature
    assert body["model"] == model
