"""In-process responders and a hashing embedder for fast routing tests."""

from __future__ import annotations

import asyncio
import re
import zlib
from collections.abc import AsyncIterator, Sequence

import numpy as np
import numpy.typing as npt

from contextual_avatar.errors import ModelError
from contextual_avatar.routing import Reply
from contextual_avatar.types import ScoredChunk, TokenUsage, Turn

_WORD = re.compile(r"\w+")


def hashing_embed(texts: Sequence[str]) -> npt.NDArray[np.float32]:
    """Unit bag-of-words vectors (words hashed into 256 buckets): deterministic and instant."""
    out = np.zeros((len(texts), 256), dtype=np.float32)
    for row, text in enumerate(texts):
        for word in _WORD.findall(text.lower()):
            out[row, zlib.crc32(word.encode()) % 256] += 1.0
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms == 0, 1.0, norms)


class Scripted:
    """A streaming responder that yields ``deltas`` with a pause between them.

    ``fail_at=i`` raises ModelError instead of yielding delta ``i`` (``len(deltas)``: after
    the last delta, before the Reply); a real model failing mid-answer.
    """

    def __init__(
        self, model: str, deltas: Sequence[str] = ("Margaret ", "is the guide."), *, fail_at=None
    ) -> None:
        self._model = model
        self.deltas = tuple(deltas)
        self.fail_at = fail_at
        self.calls = 0

    @property
    def model(self) -> str:
        return self._model

    def _reply(self, context: Sequence[ScoredChunk]) -> Reply:
        refs = context[0].chunk.refs[:1] if context else ()
        text = "".join(self.deltas)
        return Reply(text, refs, TokenUsage(10, len(text.split())), 0.0, self.model)

    async def respond(
        self, question: str, *, context: Sequence[ScoredChunk], history: Sequence[Turn]
    ) -> Reply:
        items = [i async for i in self.stream(question, context=context, history=history)]
        reply = items[-1]
        assert isinstance(reply, Reply)
        return reply

    async def stream(
        self, question: str, *, context: Sequence[ScoredChunk], history: Sequence[Turn]
    ) -> AsyncIterator[str | Reply]:
        self.calls += 1
        for i, delta in enumerate(self.deltas):
            await asyncio.sleep(0.001)
            if i == self.fail_at:
                raise ModelError(f"{self.model} is down")
            yield delta
        await asyncio.sleep(0.001)
        if self.fail_at == len(self.deltas):
            raise ModelError(f"{self.model} broke off")
        yield self._reply(context)
