"""The ingest path: a file becomes cited chunks in a collection, all or nothing.

check -> content hash (already indexed? record the path as another name; done) -> read
(loader by type; whisper for recordings) -> chunk -> embed (in batches, with progress) ->
sentence vectors for the offline answerer (into the data folder's sentence store, so no
turn embeds them) -> add and publish.

Reading and embedding run unlocked; only the last step holds the collection's folder
lock (:meth:`~contextual_avatar.retrieval.Corpus.update`), where the content check is
made again against the latest published version, so concurrent ingests in this or
other processes take turns without losing a document or embedding one twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Literal

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
from contextual_avatar.retrieval import (
    DEFAULT_COLLECTION,
    Collections,
    DocRecord,
    Embedder,
    FaissIndex,
)
from contextual_avatar.routing import SentenceVectors
from contextual_avatar.types import IngestReport

__all__ = ["Indexer", "ProgressFn"]

log = logging.getLogger(__name__)

#: ``progress(stage, done, total)``: stage is ``"read"``, ``"transcribe"``, ``"embed"`` or
#: ``"sentences"`` (chunks whose sentence vectors are stored, when a store is wired).
ProgressFn = Callable[[str, float, float], None]

#: What the locked step did: indexed new content, recorded a new name of indexed
#: content, or nothing (the path already names this content).
Outcome = Literal["added", "named", "same"]


class Indexer:
    """Reads, chunks, embeds and indexes files into collections, one writer at a time."""

    def __init__(
        self,
        collections: Collections,
        embedder: Embedder,
        *,
        ingest: IngestConfig,
        chunking: ChunkingConfig,
        transcription: TranscriptionConfig,
        batch_size: int,
        count_tokens: Callable[[str], int],
        sentences: SentenceVectors | None = None,
    ) -> None:
        """Index into ``collections`` with ``embedder``.

        Args:
            collections: Where chunks go.
            embedder: Embeds chunk texts.
            ingest: File limits.
            chunking: Chunk size, overlap and tokenizer.
            transcription: Whisper settings for recordings.
            batch_size: The embedder's batch; progress is reported every four batches.
            count_tokens: Counts a chunk's tokens for the report.
            sentences: Stores the sentence vectors of new chunks (with this embedder).
        """
        self._collections = collections
        self._embedder = embedder
        self._ingest = ingest
        self._chunking = chunking
        self._transcription = transcription
        self._step = max(1, batch_size * 4)
        self._count = count_tokens
        self._sentences = sentences

    async def ingest(
        self,
        path: Path,
        *,
        collection: str = DEFAULT_COLLECTION,
        progress: ProgressFn | None = None,
    ) -> IngestReport:
        """Index ``path`` into ``collection``; indexed bytes are a no-op, a changed file replaced.

        Identity is the content: bytes already indexed from another path are not read
        or embedded again; ``path`` is recorded as another name of them, so document
        lists show it, and the report says ``unchanged``.

        Raises:
            InputError: The collection name is invalid.
            IngestError: The file cannot be used, or its bytes are indexed as another
                kind (they would read differently); the collection is unchanged.
            StoreUnavailable: Another writer held the collection's lock too long.
        """
        started = time.perf_counter()
        corpus = await asyncio.to_thread(self._collections.writable, collection)
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
        if corpus.has_doc(doc_id):  # checked again under the lock, on the latest version
            outcome = await asyncio.to_thread(corpus.update, self._named(path, record))
            if outcome != "added":
                return self._unchanged(path, record, outcome, started)
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
        await self._warm([c.text for c in chunks], progress)
        record = replace(record, chunks=len(chunks), ingested_at=time.time())
        name = self._named(path, record)

        def add(index: FaissIndex) -> Outcome:
            # A concurrent ingest of the same content won: this path becomes another name.
            if index.docs.get(doc_id) is not None:
                return name(index)
            index.remove_path(record.path)
            index.add(chunks, vectors, record)
            return "added"

        outcome = await asyncio.to_thread(corpus.update, add)
        if outcome != "added":
            return self._unchanged(path, record, outcome, started)
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

    @staticmethod
    def _named(path: Path, record: DocRecord) -> Callable[[FaissIndex], Outcome]:
        """The locked step for content that may be indexed: record ``path`` as a name."""

        def change(index: FaissIndex) -> Outcome:
            cited = index.docs.get(record.doc_id)
            if cited is None:
                return "added"  # not indexed after all (removed meanwhile): index it
            if record.kind != cited.kind:
                raise IngestError(
                    path,
                    f"the same bytes are already indexed as {cited.kind} (from {cited.name}) "
                    f"and cannot also be read as {record.kind}; check the file's suffix",
                )
            previous = index.doc_by_path(record.path)
            if previous is not None and previous.doc_id == record.doc_id:
                return "same"
            index.remove_path(record.path)
            index.add_name(replace(record, chunks=cited.chunks))
            log.info("%s: same content as %s, recorded as another name", path.name, cited.name)
            return "named"

        return change

    @staticmethod
    def _unchanged(path: Path, record: DocRecord, outcome: Outcome, started: float) -> IngestReport:
        """The report of an ingest whose bytes were indexed already (``outcome`` says how)."""
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

    async def _warm(self, texts: Sequence[str], progress: ProgressFn | None) -> None:
        """Store the sentence vectors of ``texts`` (content-keyed: harmless if the add loses)."""
        if self._sentences is None:
            return
        for first in range(0, len(texts), self._step):
            batch = texts[first : first + self._step]
            await asyncio.to_thread(self._sentences.warm, batch)
            if progress:
                progress("sentences", min(first + self._step, len(texts)), len(texts))
