"""Processes for the live-update tests: an answerer, an ingester, a remover.

Run as ``python live_child.py ROLE DATA_DIR ...``; each prints JSON lines on stdout.

- ``answer DATA_DIR STOP_FILE QUESTION MARKER [COLLECTION]``: asks ``QUESTION`` in a
  loop (a fresh session every turn, so the cache does not hide the index) until
  ``STOP_FILE`` exists (60 s at most), printing ``{"t": unix time, "cited": [...],
  "marker": bool}`` per turn (``marker``: MARKER is in the context) and ``{"error": ...}``
  per failed turn; ``{"ready": true}`` once a first turn has been answered.
- ``ingest DATA_DIR FILE... [--collection NAME]``: ingests the files one by one, printing
  ``{"ingested": name, "t": ...}`` after each publish.
- ``die-publish DATA_DIR FILE POINT``: ingests FILE and SIGKILLs itself at POINT
  (``torn-write``: mid-way through writing the new version; ``before-switch``: the new
  version complete, ``CURRENT`` not yet switched), holding the folder lock.

The embedder is a bag of hashed words (instant, deterministic), so the processes start in
about a second and the test measures the index, not a model.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

WORD = re.compile(r"\w+")


class HashEmbedder:
    """Bag of hashed words: deterministic, instant, and similar texts share words."""

    dim = 64
    name = "hash-live-64"

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in WORD.findall(text.lower()):
                out[row, hashlib.blake2b(word.encode(), digest_size=2).digest()[0] % self.dim] += 1
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)


def _emit(**item: object) -> None:
    print(json.dumps(item), flush=True)


def _engine(data_dir: str) -> object:
    from contextual_avatar import AsyncContextEngine, EngineConfig, Parts

    config = EngineConfig(data_dir=Path(data_dir), knowledge={"backend": "none"})
    return AsyncContextEngine(config, parts=Parts(embedder=HashEmbedder()))


async def answer(data_dir: str, stop: str, question: str, marker: str, collection: str) -> None:
    engine = _engine(data_dir)
    deadline = time.monotonic() + 60
    turn = 0
    async with engine:  # type: ignore[attr-defined]
        await engine.ask("warm-up", question, collection=collection)  # type: ignore[attr-defined]
        _emit(ready=True, t=time.time())
        while time.monotonic() < deadline and not os.path.exists(stop):  # noqa: ASYNC240
            turn += 1
            try:
                got = await engine.ask(f"s{turn}", question, collection=collection)  # type: ignore[attr-defined]
            except Exception as exc:  # every failure is reported, none ends the loop
                _emit(error=f"{type(exc).__name__}: {exc}", t=time.time())
            else:
                text = " ".join(c.chunk.text for c in got.context)
                cited = sorted({c.source for c in got.citations})
                _emit(t=time.time(), cited=cited, marker=marker in text)
            await asyncio.sleep(0.02)


async def ingest(data_dir: str, files: list[str], collection: str) -> None:
    async with _engine(data_dir) as engine:  # type: ignore[attr-defined]
        for name in files:
            await engine.ingest(name, collection=collection)
            _emit(ingested=Path(name).name, t=time.time())


def die_publish(data_dir: str, file: str, point: str) -> None:
    def die(*_a: object, **_k: object) -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    if point == "torn-write":
        real_fsync, calls = os.fsync, [0]

        def fsync(fd: int) -> None:
            calls[0] += 1
            if calls[0] == 2:  # vectors.npy is on disk, chunks.jsonl is being written
                die()
            real_fsync(fd)

        os.fsync = fsync
    elif point == "before-switch":
        real_replace = os.replace

        def replace(src: object, dst: object, *a: object, **k: object) -> None:
            if str(dst).endswith("CURRENT"):
                die()
            real_replace(src, dst, *a, **k)  # type: ignore[arg-type]

        os.replace = replace  # type: ignore[assignment]
    asyncio.run(ingest(data_dir, [file], "default"))


def main(argv: list[str]) -> None:
    role, data_dir, *rest = argv
    if role == "answer":
        stop, question, marker, *coll = rest
        asyncio.run(answer(data_dir, stop, question, marker, *(coll or ["default"])))
    elif role == "ingest":
        collection = "default"
        if "--collection" in rest:
            at = rest.index("--collection")
            collection = rest[at + 1]
            rest = rest[:at] + rest[at + 2 :]
        asyncio.run(ingest(data_dir, rest, collection))
    elif role == "die-publish":
        die_publish(data_dir, rest[0], rest[1])
    else:
        raise SystemExit(f"unknown role {role}")


if __name__ == "__main__":
    main(sys.argv[1:])
