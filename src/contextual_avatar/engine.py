"""The engine: builds its parts, then runs the turn pipeline and the ingest path.

:class:`AsyncContextEngine` is the core; ``contextual_avatar.ContextEngine`` (in
:mod:`contextual_avatar._blocking`) is its blocking face with the same methods. The
engine only wires: parts are made by :func:`contextual_avatar.parts.build`, a turn flows
through the stages in :mod:`contextual_avatar.pipeline`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from pathlib import Path
from types import TracebackType
from typing import Self

from contextual_avatar.config import EngineConfig
from contextual_avatar.knowledge import WriterStats
from contextual_avatar.parts import Parts, build
from contextual_avatar.pipeline import (
    DEFAULT_COLLECTION,
    ProgressFn,
    check_collection,
    check_question,
    check_session,
)
from contextual_avatar.retrieval import DocRecord
from contextual_avatar.routing import CostLedger
from contextual_avatar.types import Answer, IngestReport, Turn

__all__ = ["AsyncContextEngine", "ProgressFn"]


class AsyncContextEngine:
    """Answers conversational turns from ingested documents, cache first.

    Example::

        async with AsyncContextEngine() as engine:
            await engine.ingest("guide.pdf")
            answer = await engine.ask("s1", "How much does an adult ticket cost?")
    """

    def __init__(self, config: EngineConfig | None = None, *, parts: Parts | None = None) -> None:
        """Open the engine and load the persisted index (models load on first use).

        Args:
            config: Settings; ``None`` reads ``CONTEXTUAL_AVATAR_*`` variables over the defaults.
            parts: The host's own parts (embedder, retriever, store or policy, sink,
                router, small/large responders, history); the config builds the rest.
                Parts given stay the host's to close.

        Raises:
            ConfigError: The config or parts are invalid, or the index was built with
                another embedder.
            IndexCorruptError: The persisted index cannot be read.
        """
        self.config = config if config is not None else EngineConfig.from_env()
        self._built = build(self.config, parts)

    @property
    def parts(self) -> Parts:
        """Every part in use: the host's and those built from the config."""
        return self._built.parts

    @property
    def documents(self) -> list[DocRecord]:
        """Documents in the default collection, in ingest order (as loaded in this process).

        See :meth:`list_documents` for another collection, or to read what is published
        on disk right now.
        """
        return self._built.corpus.documents

    @property
    def ledger(self) -> CostLedger:
        """Tokens and USD per turn, per session and in total, against the baseline."""
        return self._built.ledger

    @property
    def knowledge_stats(self) -> WriterStats | None:
        """The background knowledge writer's counters (``None`` before it has started)."""
        writer = self._built.knowledge.writer
        return None if writer is None else writer.stats

    async def ingest(
        self,
        path: str | Path,
        *,
        collection: str = DEFAULT_COLLECTION,
        progress: ProgressFn | None = None,
    ) -> IngestReport:
        """Read, chunk, embed and index a file; a file already indexed is a no-op.

        Re-ingesting a path whose content changed replaces the old version. The new
        version is published when this returns: every engine on the same ``data_dir``,
        in this process or another, answers from it within about
        ``refresh_s`` (0.2 s) plus its load time, without a restart. Ingests into one
        collection from several processes take turns (a file lock) and lose nothing.

        Args:
            path: A PDF, text/Markdown file, SRT/VTT/STM transcript, or an audio/video
                file (transcribed offline with whisper; needs the ``[whisper]`` extra).
            collection: The knowledge base to add it to (1-64 of ``a-z 0-9 _ -``); a new
                name creates the collection.
            progress: Called as work advances, for progress bars.

        Raises:
            InputError: The collection name is invalid.
            IngestError: The file cannot be used; the index is unchanged.
        """
        check_collection(collection)
        report = await self._built.indexer.ingest(
            Path(path), collection=collection, progress=progress
        )
        await self._publish_backend(collection)
        return report

    async def _publish_backend(self, collection: str) -> None:
        """With the Milvus backend, write the collection's new version to Milvus now."""
        if self._built.backend is not None:
            await asyncio.to_thread(
                self._built.backend.publish, collection, self._built.collections
            )

    async def list_collections(self) -> list[str]:
        """Names of the collections with documents published: ``"default"`` first (always).

        Reads the data folder, so collections other processes created are listed.
        """
        return await asyncio.to_thread(self._built.collections.names)

    async def list_documents(self, collection: str = DEFAULT_COLLECTION) -> list[DocRecord]:
        """A collection's documents as published now, one record per name, in ingest order.

        Reads the collection's metadata file only (no vectors, no model).

        Raises:
            InputError: The name is invalid, or the collection does not exist.
            IndexCorruptError: The metadata cannot be read.
        """
        check_collection(collection)
        return await asyncio.to_thread(self._built.collections.documents, collection)

    async def remove(self, name: str, *, collection: str = DEFAULT_COLLECTION) -> list[DocRecord]:
        """Remove a document from a collection, and from answers, caches and citations.

        ``name`` is the path it was ingested from, its file name (when only one path
        has it) or its content id (``DocRecord.doc_id``: every name of that content).
        Content still named by another path stays, cited under that path. A new version
        is published at once; answering processes stop using the document within about
        ``refresh_s`` plus a reload, and no session cache serves its chunks again
        (cached chunks are checked against the current index on every lookup).

        Returns:
            The records removed.

        Raises:
            InputError: The collection does not exist, nothing matches ``name``, or a file
                name matches several paths (give the path).
        """
        check_collection(collection)
        removed = await asyncio.to_thread(self._built.collections.remove, collection, name)
        await self._publish_backend(collection)
        return removed

    async def drop_collection(self, collection: str) -> int:
        """Delete a collection: its documents and its folder. ``"default"`` is emptied.

        Sessions bound to a dropped collection get an :class:`InputError` on their next
        turn (unknown collection). Returns how many document names were dropped.

        Raises:
            InputError: The name is invalid, or the collection does not exist.
        """
        check_collection(collection)
        return await asyncio.to_thread(self._built.collections.drop, collection)

    async def ask(
        self,
        session_id: str,
        question: str,
        *,
        collection: str = DEFAULT_COLLECTION,
        instructions: str | None = None,
    ) -> Answer:
        """Answer one turn of a session, from its cache when the cache suffices.

        Args:
            session_id: Any string up to 256 characters; sessions never share cache or history.
            question: The user's turn.
            collection: The knowledge base to answer from (1-64 of ``a-z 0-9 _ -``). A
                session is bound to the collection of its first turn.
            instructions: The host's instructions for this turn only (an avatar platform's
                system prompt: persona, tone), up to 16,000 characters. They reach a model
                responder that takes them, after the library's grounding rules; they are
                never stored, so no other turn or session sees them.

        Raises:
            InputError: Empty or oversized session id or question, an invalid or unknown
                collection, or a collection other than the one the session is bound to.
            ModelError: The model tiers failed.
        """
        turn = self.ask_stream(
            session_id, question, collection=collection, instructions=instructions
        )
        async with aclosing(turn) as stream:
            async for item in stream:
                if isinstance(item, Answer):
                    return item
        raise AssertionError("ask_stream ended without an Answer")  # pragma: no cover

    def ask_stream(
        self,
        session_id: str,
        question: str,
        *,
        collection: str = DEFAULT_COLLECTION,
        instructions: str | None = None,
    ) -> AsyncGenerator[str | Answer, None]:
        """Answer one turn, streamed: text deltas as the model writes, then the Answer.

        Stopping early (``aclose()`` on the iterator, or cancelling the task reading it)
        is a barge-in: generation stops, and the partial answer is kept in the session's
        history marked ``[interrupted]`` and priced in the ledger as interrupted.

        Raises:
            InputError: Empty or oversized session id or question.
            ModelError: The model tiers failed.
        """
        return self._built.pipeline.run(
            session_id, question, collection=collection, instructions=instructions
        )

    async def forget(self, session_id: str) -> None:
        """Drop a session's cache, history and collection binding, and its knowledge-graph facts.

        Raises:
            StoreUnavailable: The knowledge graph cannot be reached (cache and history are
                cleared; call again to delete the session's shared facts).
        """
        check_session(session_id)
        built = self._built
        await built.scope.forget(session_id, built.cache.store, built.history)
        await self._built.knowledge.forget(session_id)

    async def remember(self, session_id: str, turns: Sequence[Turn]) -> int:
        """Seed a session that has no history with earlier turns of its conversation.

        A client that resends its conversation each turn (the OpenAI protocol does) can
        restore it after a restart, or on another worker, so a follow-up is understood.
        A session that already has history is left alone (nothing is duplicated).

        Returns:
            The number of turns recorded (0 when the session had history).

        Raises:
            InputError: Empty or oversized session id, or a turn's question.
        """
        check_session(session_id)
        kept = [Turn(check_question(t.question), t.answer) for t in turns]
        history = self._built.history
        if not kept or await history.recent(session_id):
            return 0
        for turn in kept:
            await history.append(session_id, turn)
        return len(kept)

    async def flush(self) -> None:
        """Wait until every fact learned so far has reached the knowledge graph."""
        await self._built.knowledge.flush()

    async def aclose(self) -> None:
        """Deliver pending knowledge, then release the parts the engine built.

        Facts the graph cannot take in time stay in the outbox for the next engine.
        """
        built = self._built
        await built.knowledge.aclose(close_sink="sink" in built.owned)
        await built.scope.bindings.aclose()
        await asyncio.to_thread(built.collections.close)
        if "store" in built.owned:
            await built.cache.store.aclose()
        if "history" in built.owned:
            await built.history.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
