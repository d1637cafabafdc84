"""The ingest path: a file becomes cited chunks in the corpus, all or nothing.

check -> content hash (already indexed? record the path as another name; done) -> read
(loader by type; whisper for recordings) -> chunk -> embed (in batches, with progress) ->
add and publish.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from contextual_avatar.errors import IngestError
from contextual_avatar.ingest import (
    ChunkingConfig,
    IngestConfig,
    TranscriptionConfig,
    check_file,
    chunk_segments,
    content_hash,
    kind_of,
    read_segments,
)
from contextual_avatar.retrieval import Corpus, DocRecord, Embedder
from contextual_avatar.types import IngestReport

__all__ = ["Indexer", "ProgressFn"]

log = logging.getLogger(__name__)

#: ``progress(stage, done, total)``: stage is ``"read"``, ``"transcribe"`` or ``"embed"``.
ProgressFn = Callable[[str, float, float], None]


class Indexer:
    """Reads, chunks, embeds and indexes files into a corpus, one writer at a time."""

    def __init__(
        self,
        corpus: Corpus,
        embedder: Embedder,
        *,
        ingest: IngestConfig,
        chunking: ChunkingConfig,
        transcription: TranscriptionConfig,
        batch_size: int,
        count_tokens: Callable[[str], int],
    ) -> None:
        """Index into ``corpus`` with ``embedder``.

        Args:
            corpus: Where chunks go.
            embedder: Embeds chunk texts.
            ingest: File limits.
            chunking: Chunk size, overlap and tokenizer.
            transcription: Whisper settings for recordings.
            batch_size: The embedder's batch; progress is reported every four batches.
            count_tokens: Counts a chunk's tokens for the report.
        """
        self._corpus = corpus
        self._embedder = embedder
        self._ingest = ingest
        self._chunking = chunking
        self._transcription = transcription
        self._step = max(1, batch_size * 4)
        self._count = count_tokens
        self._lock = asyncio.Lock()

    async def ingest(self, path: Path, *, progress: ProgressFn | None = None) -> IngestReport:
        """Index ``path``: a file already indexed is a no-op, a changed one is replaced.

        Identity is the content: bytes already indexed from another path are not read
        or embedded again; ``path`` is recorded as another name of them, so document
        lists show it, and the report says ``unchanged``.

        Raises:
            IngestError: The file cannot be used, or its bytes are indexed as another
                kind (they would read differently); the corpus is unchanged.
        """
        started = time.perf_counter()
        check_file(path, max_bytes=self._ingest.max_file_bytes)
        kind = kind_of(path)
        doc_id = await asyncio.to_thread(content_hash, path)
        record = DocRecord(
            doc_id=doc_id,
            path=str(await asyncio.to_thread(path.resolve)),
            name=path.name,
            kind=kind,
            chunks=0,
            ingested_at=time.time(),
        )
        if self._corpus.has_doc(doc_id):
            async with self._lock:
                if (cited := self._corpus.cited_as(doc_id)) is not None:  # still, once locked
                    return await self._another_name(path, record, cited, started)
        if progress:
            progress("read", 0, 1)

        def seconds(done: float, total: float) -> None:
            if progress:
                progress("transcribe", done, total)

        segments = await asyncio.to_thread(
            read_segments, path, kind, transcription=self._transcription, progress=seconds
        )
        chunks = chunk_segments(segments, doc_id=doc_id, config=self._chunking)
        if not chunks:
            raise IngestError(path, "no text to index after cleaning")
        if progress:
            progress("read", 1, 1)
        vectors = await self._embed([c.text for c in chunks], progress)
        record = replace(record, chunks=len(chunks), ingested_at=time.time())
        async with self._lock:
            # A concurrent ingest of the same content won: this path becomes another name.
            if (cited := self._corpus.cited_as(doc_id)) is not None:
                return await self._another_name(path, record, cited, started)
            self._corpus.add_document(chunks, vectors, record)
            await asyncio.to_thread(self._corpus.publish)
        tokens = sum(self._count(c.text) for c in chunks)
        log.info("ingested %s: %d chunks, %d tokens", path.name, len(chunks), tokens)
        return IngestReport(
            path=str(path),
            doc_id=doc_id,
            kind=kind,
            segments=len(segments),
            chunks=len(chunks),
            tokens=tokens,
            unchanged=False,
            seconds=time.perf_counter() - started,
        )

    async def _another_name(
        self, path: Path, record: DocRecord, cited: DocRecord, started: float
    ) -> IngestReport:
        """Record indexed content under ``record.path`` (the caller holds the lock)."""
        if record.kind != cited.kind:
            raise IngestError(
                path,
                f"the same bytes are already indexed as {cited.kind} (from {cited.name}) "
                f"and cannot also be read as {record.kind}; check the file's suffix",
            )
        if self._corpus.add_name(replace(record, chunks=cited.chunks)):
            await asyncio.to_thread(self._corpus.publish)
            log.info("%s: same content as %s, recorded as another name", path.name, cited.name)
        elapsed = time.perf_counter() - started
        return IngestReport(str(path), record.doc_id, kind_of(path), 0, 0, 0, True, elapsed)

    async def _embed(
        self, texts: Sequence[str], progress: ProgressFn | None
    ) -> npt.NDArray[np.float32]:
        parts = []
        for first in range(0, len(texts), self._step):
            batch = texts[first : first + self._step]
            parts.append(await asyncio.to_thread(self._embedder.embed, batch))
            if progress:
                progress("embed", min(first + self._step, len(texts)), len(texts))
        return np.vstack(parts)
