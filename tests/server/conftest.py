"""A real server on a loopback port for the server tests: two keys, the sample guide indexed.

The large tier is :class:`Paced`, a streaming responder at the model edge that writes a
long answer word by word, so a client can hang up mid-answer; turns about the guide are
answered by the offline extractive tier.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path

import httpx
import pytest

from contextual_avatar import EngineConfig, Parts, Reply, ScoredChunk, TokenUsage, Turn
from contextual_avatar.server import ApiKey, ServerSettings, create_app
from contextual_avatar.testing import running_server

REPO = Path(__file__).resolve().parents[2]
GUIDE = REPO / "examples" / "data" / "guide.pdf"
ALICE = "alice-secret-0123456789"
BOB = "bob-secret-0123456789ab"
CAROL = "carol-secret-0123456789"  # limited to the default knowledge base
OFF_TOPIC = "Write a very long poem about sailing ships at sea."


class Paced:
    """A streaming responder that writes ``words`` words, one per event-loop turn or so.

    ``closed`` and ``written`` tell a test whether a barge-in reached the model.
    """

    model = "paced"

    def __init__(self, words: int = 4000) -> None:
        self.words = words
        self.written = 0
        self.closed = 0
        self.finished = 0

    async def respond(
        self, question: str, *, context: Sequence[ScoredChunk], history: Sequence[Turn]
    ) -> Reply:
        text = ""
        async for item in self.stream(question, context=context, history=history):
            if isinstance(item, Reply):
                return item
            text += item
        raise AssertionError("no reply")

    async def stream(
        self, question: str, *, context: Sequence[ScoredChunk], history: Sequence[Turn]
    ) -> AsyncIterator[str | Reply]:
        parts: list[str] = []
        refs = context[0].chunk.refs if context else ()
        try:
            for i in range(self.words):
                word = f" sail{i} [1]" if i % 50 == 0 else f" wave{i}"
                parts.append(word)
                self.written += 1
                yield word
                await asyncio.sleep(0.002)
        except (GeneratorExit, asyncio.CancelledError):  # closed, or its reader cancelled
            self.closed += 1
            raise
        self.finished += 1
        yield Reply("".join(parts), refs, TokenUsage(10, self.words), 0.0, self.model)


@dataclasses.dataclass
class Served:
    base_url: str
    app: object
    paced: Paced

    @property
    def engine(self):  # the engine the server opened (its state, for assertions)
        return self.app.state.engine  # type: ignore[attr-defined]

    def http(self, key: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=60)


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory, embedder) -> Iterator[Served]:
    """One server for the whole session's server tests (each test uses its own sessions)."""
    paced = Paced()
    settings = ServerSettings(
        api_keys=[
            ApiKey(key=ALICE, name="alice"),
            BOB,
            ApiKey(key=CAROL, name="carol", collections=("default",)),
        ],
        max_body_bytes=64 * 1024,
        max_upload_bytes=2 * 1024 * 1024,
    )
    config = EngineConfig(
        data_dir=tmp_path_factory.mktemp("server"),
        routing={"large": {"model": "paced", "input_usd_per_mtok": 0, "output_usd_per_mtok": 0}},
    )
    app = create_app(settings=settings, config=config, parts=Parts(embedder=embedder, large=paced))
    with running_server(app) as base_url:
        with httpx.Client(base_url=base_url, timeout=120) as http:
            r = http.put(
                "/api/documents/guide.pdf",
                params={"wait": "true"},
                content=GUIDE.read_bytes(),
                headers={"Authorization": f"Bearer {ALICE}"},
            )
            assert r.status_code == 200, r.text
        yield Served(base_url, app, paced)
