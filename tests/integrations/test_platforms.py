"""Each platform snippet in docs/platforms.md, exactly as printed, against the real server.

The snippets' fields must match what the server serves: model ids from ``GET /v1/models``,
the base URL's path, the key as a bearer token. Tavus and Vapi are called the way they call
a custom LLM (a streamed POST to ``<base_url>/chat/completions``); the LiveKit and Pipecat
snippets are executed as written, only the host swapped for the test server's.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
from livekit.agents import APIConnectOptions, llm
from livekit.plugins import openai as lk_openai
from pipecat.frames.frames import LLMContextFrame
from pipecat.services.openai.llm import OpenAILLMService

from contextual_avatar.integrations import strip_citations

from .conftest import SERVER_KEY
from .pipecat_harness import Recorder, conversation, run_pipeline, wait_for

PAGE = Path(__file__).resolve().parents[2] / "docs" / "platforms.md"
DOCS_BASE_URL = "https://avatar.example.com/v1"
QUESTION = "How much does an adult ticket cost?"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)


def sections() -> dict[str, list[tuple[str, str]]]:
    """``## heading`` -> its fenced blocks as (language, body)."""
    parts = re.split(r"^## ", PAGE.read_text(), flags=re.M)
    found = {"": FENCE.findall(parts[0])}
    for part in parts[1:]:
        heading, _, body = part.partition("\n")
        found[heading.strip()] = FENCE.findall(body)
    return found


SECTIONS = sections()


def docs_key() -> str:
    (command,) = [body for lang, body in SECTIONS[""] if lang == "bash"]
    match = re.search(r"CONTEXTUAL_AVATAR_SERVER__API_KEYS=(\S+)", command)
    assert match is not None, command
    return match.group(1)


@pytest.fixture(scope="module")
def served_models(server: str) -> set[str]:
    reply = httpx.get(f"{server}/v1/models", headers={"Authorization": f"Bearer {docs_key()}"})
    reply.raise_for_status()
    return {m["id"] for m in reply.json()["data"]}


def on_test_server(base_url: str, server: str) -> str:
    """The snippet's base URL with the test server's scheme, host and port (same path)."""
    path = urlparse(base_url).path
    assert path == urlparse(server).path + "/v1", base_url  # the path the server serves
    return server + path


def chat_as_a_platform(url: str, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    """A streamed chat completion as Tavus and Vapi request it; returns text and extras."""
    text, extras = [], {}
    with httpx.stream("POST", f"{url}/chat/completions", json=body, headers=headers) as reply:
        assert reply.status_code == 200, reply.read()
        for line in reply.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line.removeprefix("data: "))
            for choice in chunk["choices"]:
                text.append(choice["delta"].get("content") or "")
            extras.update({k: v for k, v in chunk.items() if k == "citations"})
    return {"text": "".join(text), **extras}


def assert_cited_answer(reply: dict[str, Any]) -> None:
    assert "9 euros" in reply["text"]
    assert reply["text"] == strip_citations(reply["text"])  # nothing cited is spoken
    assert [c["label"] for c in reply["citations"]] == ["guide.pdf p. 2"]


def test_the_page_has_a_snippet_for_every_platform():
    assert docs_key() == SERVER_KEY  # the tests' server runs with the page's command's key
    for heading in ("Tavus (CVI persona)", "Vapi (custom LLM)", "LiveKit Agents", "Pipecat"):
        assert SECTIONS[heading], heading


def test_tavus_persona(server: str, served_models: set[str]):
    (persona,) = [json.loads(body) for lang, body in SECTIONS["Tavus (CVI persona)"]]
    layer = persona["layers"]["llm"]
    assert layer["model"] in served_models
    assert layer["api_key"] == docs_key()
    url = on_test_server(layer["base_url"], server)
    messages = [
        {"role": "system", "content": persona["system_prompt"]},
        {"role": "user", "content": QUESTION},
    ]
    body = {"model": layer["model"], "messages": messages, "stream": True}
    # Tavus authenticates with the persona's api_key as a bearer token.
    assert_cited_answer(
        chat_as_a_platform(url, {"Authorization": f"Bearer {layer['api_key']}"}, body)
    )
    refused = httpx.post(f"{url}/chat/completions", json=body)
    assert refused.status_code == 401


def test_vapi_custom_llm(server: str, served_models: set[str]):
    credential, assistant = [json.loads(body) for lang, body in SECTIONS["Vapi (custom LLM)"]]
    assert credential["provider"] == assistant["model"]["provider"] == "custom-llm"
    assert credential["apiKey"] == docs_key()
    model = assistant["model"]
    assert model["model"] in served_models
    url = on_test_server(model["url"], server)
    # metadataSendMode "off": Vapi sends the model and the messages, nothing else of its own.
    assert model["metadataSendMode"] == "off"
    body = {
        "model": model["model"],
        "messages": [*model["messages"], {"role": "user", "content": QUESTION}],
        "stream": True,
    }
    headers = {"Authorization": f"Bearer {credential['apiKey']}"}
    assert_cited_answer(chat_as_a_platform(url, headers, body))


def run_snippet(heading: str, server: str, names: dict[str, Any]) -> Any:
    """Execute the section's Python snippet as printed, on the test server; return ``llm``."""
    (code,) = [body for lang, body in SECTIONS[heading] if lang == "python"]
    assert DOCS_BASE_URL in code
    on_test_server(DOCS_BASE_URL, server)
    env = {"CONTEXTUAL_AVATAR_API_KEY": docs_key()}
    namespace = {"os": SimpleNamespace(environ=env), **names}
    exec(code.replace(DOCS_BASE_URL, f"{server}/v1"), namespace)
    return namespace["llm"]


async def test_livekit_openai_llm(server: str, served_models: set[str]):
    model = run_snippet("LiveKit Agents", server, {"openai": lk_openai})
    assert model.model in served_models
    chat_ctx = llm.ChatContext()
    chat_ctx.add_message(role="user", content=QUESTION)
    text: list[str] = []
    try:
        async with model.chat(chat_ctx=chat_ctx, conn_options=APIConnectOptions(max_retry=0)) as s:
            async for chunk in s:
                if chunk.delta is not None and chunk.delta.content:
                    text.append(chunk.delta.content)
    finally:
        await model.aclose()
    assert "9 euros" in "".join(text)
    assert "".join(text) == strip_citations("".join(text))


async def test_pipecat_openai_llm_service(server: str, served_models: set[str]):
    service = run_snippet("Pipecat", server, {"OpenAILLMService": OpenAILLMService})
    assert service._settings.model in served_models

    async def script(worker, recorder: Recorder) -> None:
        await worker.queue_frame(LLMContextFrame(conversation(QUESTION)))
        await wait_for(recorder.ended)

    recorder = await run_pipeline([service], script)
    (reply,) = recorder.spoken()
    assert "9 euros" in reply and reply == strip_citations(reply)
