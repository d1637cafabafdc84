"""The engine's line to shared knowledge: read the retrieval prior, write new votes behind.

Reading is bounded (a slow or unreachable graph costs a turn its shared chunks, never its
answer); writing goes through a :class:`~contextual_avatar.knowledge.BackgroundWriter`
started on first use (it needs the running loop), so the hot path never waits on it.
What is shared is keyed by the question's salient *document* terms (``terms_of``), hashed
per collection: words a caller typed that no document contains are not even hashed.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from contextual_avatar.cache import session_tag
from contextual_avatar.errors import StoreUnavailable
from contextual_avatar.knowledge import (
    BackgroundWriter,
    KnowledgeConfig,
    KnowledgeGraphSink,
    WriterClosedError,
    feature_keys,
    kind_key,
)
from contextual_avatar.retrieval import Collections, terms
from contextual_avatar.types import Chunk, Fact

__all__ = ["Resolver", "SharedKnowledge", "TermsOf", "document_terms", "indexed_chunks"]

Vectors = npt.NDArray[np.float32]
#: A question's document terms in a collection: ``(question, collection) -> terms``.
TermsOf = Callable[[str, str], list[str]]
#: Indexed chunks of a collection by id, with their vectors: ``(collection, ids)``.
Resolver = Callable[[str, Sequence[str]], tuple[list[Chunk], Vectors]]

log = logging.getLogger(__name__)

_DAY_S = 86_400.0
#: Expired facts are deleted at most this often (seconds), from the write path.
_EXPIRE_EVERY_S = 3_600.0


class SharedKnowledge:
    """The retrieval prior for a turn, and a background writer for what turns teach."""

    def __init__(
        self,
        sink: KnowledgeGraphSink | None,
        config: KnowledgeConfig,
        *,
        outbox_dir: Path,
        terms_of: TermsOf,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Read from and write to ``sink`` (``None``: sharing is off).

        Args:
            sink: The knowledge graph.
            config: Limits, floor, retention, timeouts and writer settings.
            outbox_dir: Where facts wait while the graph is unreachable.
            terms_of: A question's terms that its collection's documents contain.
            clock: Unix time (tests inject one).
        """
        self.sink = sink
        self.config = config
        self._outbox_dir = outbox_dir
        self._terms_of = terms_of
        self._clock = clock
        self._expired_at = 0.0
        self._expiring: asyncio.Task[None] | None = None
        self.writer: BackgroundWriter | None = None

    def terms(self, question: str, collection: str) -> list[str]:
        """The question's document terms in its collection (what its keys are made of)."""
        return self._terms_of(question, collection)

    def keys(self, question: str, collection: str) -> list[str]:
        """The hashed, collection-scoped keys of a question."""
        return feature_keys(self._terms_of(question, collection), collection)

    def _since(self) -> float:
        return self._clock() - self.config.retention_days * _DAY_S

    async def related(self, session_id: str, question: str, collection: str) -> list[Fact]:
        """Chunks other sessions of the collection found answering such questions.

        A chunk must have answered questions on at least ``min_key_share`` of this
        question's term keys.
        """
        if self.sink is None:
            return []
        keys = self.keys(question, collection)
        # A chunk must answer this *kind* of question: most of its keys, not one word.
        need = max(1, math.ceil(self.config.min_key_share * len(keys)))
        found = await self._read(session_id, keys, collection)
        return [f for f in found if f.score >= need]

    async def related_kind(self, session_id: str, question: str, collection: str) -> list[Fact]:
        """Chunks other sessions' answers came from for questions of exactly these terms."""
        if self.sink is None:
            return []
        kind = kind_key(self._terms_of(question, collection), collection)
        return [] if kind is None else await self._read(session_id, [kind], collection)

    async def _read(self, session_id: str, keys: list[str], collection: str) -> list[Fact]:
        """``related()`` of the sink, bounded in time; ``[]`` when off, slow or down."""
        if self.sink is None or not keys:
            return []
        cfg = self.config
        try:
            return await asyncio.wait_for(
                self.sink.related(
                    keys,
                    cfg.related_limit,
                    collection=collection,
                    exclude_session=session_id,
                    since=self._since(),
                ),
                timeout=cfg.related_timeout_s,
            )
        except (TimeoutError, StoreUnavailable) as exc:
            log.debug("session %s: shared knowledge skipped (%s)", session_tag(session_id), exc)
            return []

    def _started(self) -> BackgroundWriter | None:
        """The writer, started on first use (it needs the running loop); ``None`` if off.

        Starting replays what an earlier run left in the outbox.
        """
        if self.sink is not None and self.writer is None:
            self.writer = BackgroundWriter.from_config(
                self.sink, self.config, outbox_dir=self._outbox_dir
            )
            self.writer.start()
        return self.writer

    def submit(self, facts: Sequence[Fact]) -> None:
        """Queue facts for the graph; never waits, never fails the turn.

        A turn that ends while the engine closes cannot queue any more: its facts are
        dropped with a warning rather than its answer lost.
        """
        if not facts:
            return
        writer = self._started()
        if writer is None:
            return
        try:
            writer.submit(list(facts))
        except WriterClosedError:
            log.warning("knowledge writer closed: %d facts of a late turn not kept", len(facts))
            return
        if self._expiring is None and self._clock() - self._expired_at >= _EXPIRE_EVERY_S:
            self._expired_at = self._clock()
            self._expiring = asyncio.get_running_loop().create_task(self._expire_quietly())

    async def _expire_quietly(self) -> None:
        try:
            await self.expire()
        except StoreUnavailable as exc:
            log.warning("knowledge retention not applied: %s", exc)
        finally:
            self._expiring = None

    async def expire(self) -> int:
        """Delete facts past the retention; returns how many went (0 when sharing is off)."""
        if self.sink is None:
            return 0
        self._expired_at = self._clock()
        return await self.sink.expire(self._since())

    async def flush(self) -> None:
        """Wait until every fact so far is in the graph, then apply the retention."""
        writer = self._started()
        if writer is not None:
            await writer.flush()
        if self.sink is not None and self._clock() - self._expired_at >= _EXPIRE_EVERY_S:
            try:
                await self.expire()
            except StoreUnavailable as exc:
                log.warning("knowledge retention not applied: %s", exc)

    async def forget(self, session_id: str) -> int:
        """Delete what the graph holds about a session (its queued facts first).

        Raises:
            StoreUnavailable: The graph cannot be reached; nothing is known to be deleted.
        """
        if self.sink is None:
            return 0
        if self.writer is not None:
            # Facts still queued would land after the delete.
            try:
                await asyncio.wait_for(self.writer.flush(), self.config.close_timeout_s)
            except TimeoutError as exc:
                raise StoreUnavailable(
                    "knowledge graph unreachable: the session's facts were not deleted"
                ) from exc
        return await self.sink.forget(session_id)

    def spill(self) -> int:
        """Move facts not yet durable to the outbox, without the loop (for exit hooks)."""
        return self.writer.spill() if self.writer is not None else 0

    async def aclose(self, *, close_sink: bool) -> None:
        """Deliver what is pending (the rest stays in the outbox), then close.

        Args:
            close_sink: Close the sink too (the engine closes only sinks it opened).
        """
        if self._expiring is not None:
            await asyncio.gather(self._expiring, return_exceptions=True)
        if self.writer is not None:
            await self.writer.aclose(timeout_s=self.config.close_timeout_s)
        if close_sink and self.sink is not None:
            await self.sink.close()


def document_terms(collections: Collections, *, max_share: float) -> TermsOf:
    """A question's terms that its collection holds, those marking a topic first.

    Terms no document of the collection contains (what only a caller typed) are left out;
    terms in at most ``max_share`` of the chunks (names, places) come before common ones.
    A collection this process has not opened yet gives no terms (the turn shares nothing).
    """

    def of(question: str, collection: str) -> list[str]:
        corpus = collections.loaded(collection)
        if corpus is None:
            return []
        version = corpus.current
        found = list(dict.fromkeys(terms(question)))
        unknown = set(version.salient(found, max_share=-1.0))
        known = [t for t in found if t not in unknown]
        topical = set(version.salient(known, max_share=max_share))
        return [t for t in known if t in topical] + [t for t in known if t not in topical]

    return of


def indexed_chunks(collections: Collections) -> Resolver:
    """Chunks of a collection by id with their vectors (ids no longer indexed are skipped)."""

    def resolve(collection: str, ids: Sequence[str]) -> tuple[list[Chunk], Vectors]:
        corpus = collections.loaded(collection)
        if corpus is None:
            return [], np.zeros((0, 0), dtype=np.float32)
        return corpus.current.lookup(ids)

    return resolve
