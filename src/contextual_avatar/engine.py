"""The engine: wires ingest, retrieval, the session cache and the responder.

:class:`AsyncContextEngine` is the core; :class:`ContextEngine` is its blocking face
with the same methods. The engine only wires: every computation lives in a part.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator, Sequence
from contextlib import aclosing
from pathlib import Path
from types import TracebackType
from typing import Self, TypeVar

import numpy as np
import numpy.typing as npt

from contextual_avatar._sync import LoopThread
from contextual_avatar.cache import (
    CacheEntry,
    ChunkCache,
    ChunkStore,
    History,
    build_history,
    build_store,
)
from contextual_avatar.config import EngineConfig
from contextual_avatar.errors import IngestError, InputError, StoreUnavailable
from contextual_avatar.ingest import (
    check_file,
    chunk_segments,
    content_hash,
    count_tokens,
    kind_of,
    load_media,
    read_segments,
)
from contextual_avatar.knowledge import (
    BackgroundWriter,
    KnowledgeGraphSink,
    extract_facts,
    format_fact,
    open_sink,
    pack_facts,
)
from contextual_avatar.retrieval import (
    BM25Index,
    DocRecord,
    Embedder,
    FaissIndex,
    MiniLMEmbedder,
    Retriever,
    assemble_context,
    build_retriever,
    conversation_queries,
    conversation_state,
    terms,
)
from contextual_avatar.routing import (
    CostLedger,
    ExtractiveResponder,
    LedgerEntry,
    Reply,
    Responder,
    Router,
    SimilarityRouter,
    Tiers,
    baseline_prompt_tokens,
    build_tiers,
    configured_prices,
)
from contextual_avatar.types import (
    KNOWLEDGE_DOC_ID,
    Answer,
    Chunk,
    Fact,
    IngestReport,
    RouteDecision,
    ScoredChunk,
    Segment,
    SourceRef,
    Span,
    Tier,
    TokenUsage,
    Turn,
)

__all__ = ["AsyncContextEngine", "ContextEngine", "ProgressFn"]

log = logging.getLogger(__name__)
T = TypeVar("T")

#: ``progress(stage, done, total)``: stage is ``"read"``, ``"embed"`` or ``"save"``.
ProgressFn = Callable[[str, float, float], None]

MAX_SESSION_ID_CHARS = 256
MAX_QUESTION_CHARS = 8_000
#: Appended to an answer cut short by a barge-in, as the session history keeps it.
INTERRUPTED_MARK = " [interrupted]"


def session_tag(session_id: str) -> str:
    """A short hash of a session id for logs: ids may be personal data."""
    return hashlib.sha256(session_id.encode("utf-8", "surrogatepass")).hexdigest()[:12]


class AsyncContextEngine:
    """Answers conversational turns from ingested documents, cache first.

    Example::

        async with AsyncContextEngine() as engine:
            await engine.ingest("guide.pdf")
            answer = await engine.ask("s1", "How much does an adult ticket cost?")
    """

    def __init__(
        self,
        config: EngineConfig | None = None,
        *,
        embedder: Embedder | None = None,
        store: ChunkStore | None = None,
        responder: Responder | None = None,
        router: Router | None = None,
    ) -> None:
        """Open the engine and load the persisted index (models load on first use).

        Args:
            config: Settings; ``None`` reads ``CONTEXTUAL_AVATAR_*`` variables over the defaults.
            embedder: Replaces the configured embedder.
            store: Replaces the in-process chunk store (e.g. a Redis store).
            responder: Answers for both tiers, replacing the configured ones.
            router: Replaces the similarity router (any ``route(question, context,
                cache_hit=...)``).

        Raises:
            ConfigError: The config is invalid or the index was built with another embedder.
            IndexCorruptError: The persisted index cannot be read.
        """
        self.config = config if config is not None else EngineConfig.from_env()
        cfg = self.config
        self._embedder: Embedder = embedder or MiniLMEmbedder(
            model_path=cfg.embedder.model_path,
            batch_size=cfg.embedder.batch_size,
            threads=cfg.embedder.threads,
        )
        self._index_dir = cfg.data_dir / "index"
        self._load_indexes()
        self._cache = ChunkCache(
            store or build_store(cfg.cache),
            threshold=cfg.cache.hit_threshold,
            enabled=cfg.cache.enabled,
            admission=cfg.cache.admission,
            neighbours=cfg.cache.neighbours,
            source=self._cache_entries,
            max_missing=cfg.cache.max_missing_terms,
            analyzer=terms,
            prefetch=cfg.cache.prefetch,
        )
        self._history: History = build_history(cfg.cache)
        extractive = ExtractiveResponder(
            self._embed,
            count_tokens=self._count_tokens,
            max_sentences=cfg.answer.max_sentences,
            context_chunks=cfg.answer.context_chunks,
        )
        self._tiers: Tiers = build_tiers(cfg.routing, extractive=extractive, override=responder)
        self._router: Router = router or SimilarityRouter(
            threshold=cfg.routing.threshold,
            small_model=self._tiers.small.model,
            large_model=self._tiers.large.model,
            margin_weight=cfg.routing.margin_weight,
            cache_hit_bonus=cfg.routing.cache_hit_bonus,
        )
        self.ledger = CostLedger(
            baseline_model=self._tiers.large.model,
            prices=configured_prices(cfg.routing.small, cfg.routing.large),
        )
        self._write_lock = asyncio.Lock()
        # Shared knowledge: read on each ask, written by a background writer started on
        # the first ask (it needs the running loop).
        kcfg = cfg.knowledge
        self._graph: KnowledgeGraphSink | None = open_sink(kcfg, data_dir=cfg.data_dir)
        self._writer: BackgroundWriter | None = None

    # -- helpers -----------------------------------------------------------------------

    def _load_indexes(self) -> None:
        """(Re)load the vector index, its BM25 twin and the retriever from disk."""
        cfg = self.config.retrieval
        self._index = FaissIndex.load(
            self._index_dir, dim=self._embedder.dim, embedder=self._embedder.name
        )
        self._lexical = BM25Index.load(
            FaissIndex.current_version(self._index_dir),
            self._index.chunks,
            k1=cfg.bm25_k1,
            b=cfg.bm25_b,
        )
        self._retriever: Retriever = build_retriever(cfg, self._index, self._lexical)

    def _publish_indexes(self) -> None:
        """Bring BM25 in line with the vector index and save both in one atomic switch."""
        self._lexical.rebuild(self._index.chunks)
        self._index.save(self._index_dir, extra=self._lexical.save)

    def _embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        return self._embedder.embed(texts)

    def _cache_entries(self, chunk_ids: Sequence[str]) -> list[CacheEntry]:
        """Indexed chunks (with vectors) by id, skipping unknown ids: the cache's source."""
        chunks = [c for c in map(self._index.chunk, chunk_ids) if c is not None]
        vectors = self._index.vectors_for([c.id for c in chunks])
        return [CacheEntry(c, vectors[i]) for i, c in enumerate(chunks)]

    def _count_tokens(self, text: str) -> int:
        return count_tokens(text, self.config.chunking.encoding)

    @property
    def documents(self) -> list[DocRecord]:
        """Documents in the index, in ingest order."""
        return list(self._index.docs.values())

    def _graph_writer(self) -> BackgroundWriter | None:
        if self._graph is not None and self._writer is None:
            kcfg = self.config.knowledge
            outbox = kcfg.outbox_dir or self.config.data_dir / "outbox"
            self._writer = BackgroundWriter.from_config(self._graph, kcfg, outbox_dir=outbox)
            self._writer.start()
        return self._writer

    async def _related_facts(self, session_id: str, question: str) -> list[Fact]:
        """Facts other conversations taught that bear on the question, within budget.

        A slow or unreachable graph costs this turn its facts, never the answer.
        """
        if self._graph is None:
            return []
        kcfg = self.config.knowledge
        try:
            facts = await asyncio.wait_for(
                self._graph.related(question, kcfg.related_limit, exclude_session=session_id),
                timeout=kcfg.related_timeout_s,
            )
        except (TimeoutError, StoreUnavailable) as exc:
            log.debug("session %s: related facts skipped (%s)", session_tag(session_id), exc)
            return []
        return pack_facts(facts, budget_tokens=kcfg.context_tokens, count_tokens=self._count_tokens)

    # -- ingest ------------------------------------------------------------------------

    async def ingest(self, path: str | Path, *, progress: ProgressFn | None = None) -> IngestReport:
        """Read, chunk, embed and index a file; a file already indexed is a no-op.

        Re-ingesting a path whose content changed replaces the old version.

        Args:
            path: A PDF, text/Markdown file, SRT/VTT/STM transcript, or an audio/video
                file (transcribed offline with whisper; needs the ``[whisper]`` extra).
            progress: Called as work advances, for progress bars.

        Returns:
            What was done.

        Raises:
            IngestError: The file cannot be used; the index is unchanged.
        """
        started = time.perf_counter()
        path = Path(path)
        check_file(path, max_bytes=self.config.ingest.max_file_bytes)
        kind = kind_of(path)
        doc_id = await asyncio.to_thread(content_hash, path)
        if self._index.has_doc(doc_id):
            return IngestReport(
                str(path), doc_id, kind, 0, 0, 0, True, time.perf_counter() - started
            )
        if progress:
            progress("read", 0, 1)

        def transcribe(media: Path) -> list[Segment]:
            def seconds(done: float, total: float) -> None:
                if progress:
                    progress("transcribe", done, total)

            return load_media(media, config=self.config.transcription, progress=seconds)

        segments = await asyncio.to_thread(read_segments, path, kind, media_loader=transcribe)
        chunks = chunk_segments(segments, doc_id=doc_id, config=self.config.chunking)
        if not chunks:
            raise IngestError(path, "no text to index after cleaning")
        if progress:
            progress("read", 1, 1)
        vectors = await self._embed_with_progress([c.text for c in chunks], progress)
        tokens = sum(self._count_tokens(c.text) for c in chunks)
        record = DocRecord(
            doc_id=doc_id,
            path=str(path.resolve()),
            name=path.name,
            kind=kind,
            chunks=len(chunks),
            ingested_at=time.time(),
        )
        async with self._write_lock:
            if self._index.has_doc(doc_id):  # a concurrent ingest of the same content won
                return IngestReport(
                    str(path), doc_id, kind, 0, 0, 0, True, time.perf_counter() - started
                )
            previous = self._index.doc_by_path(record.path)
            if previous is not None:
                self._index.remove_doc(previous.doc_id)
            self._index.add(chunks, vectors, record)
            try:
                await asyncio.to_thread(self._publish_indexes)
            except BaseException:
                # The disk still holds the previous version: go back to it.
                self._load_indexes()
                raise
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

    async def _embed_with_progress(
        self, texts: Sequence[str], progress: ProgressFn | None
    ) -> npt.NDArray[np.float32]:
        step = max(1, self.config.embedder.batch_size * 4)
        parts = []
        for first in range(0, len(texts), step):
            parts.append(await asyncio.to_thread(self._embed, texts[first : first + step]))
            if progress:
                progress("embed", min(first + step, len(texts)), len(texts))
        return np.vstack(parts)

    # -- ask ---------------------------------------------------------------------------

    async def ask(self, session_id: str, question: str) -> Answer:
        """Answer one turn of a session, from its cache when the cache suffices.

        Args:
            session_id: Any string up to 256 characters; sessions never share cache or history.
            question: The user's turn.

        Returns:
            The answer with citations, context, cache and route decisions, cost and timings.

        Raises:
            InputError: Empty or oversized session id or question.
            ModelError: The model tiers failed.
        """
        async with aclosing(self.ask_stream(session_id, question)) as stream:
            async for item in stream:
                if isinstance(item, Answer):
                    return item
        raise AssertionError("ask_stream ended without an Answer")  # pragma: no cover

    async def ask_stream(
        self, session_id: str, question: str
    ) -> AsyncGenerator[str | Answer, None]:
        """Answer one turn, streamed: text deltas as the model writes, then the Answer.

        Stopping early (``aclose()`` on the iterator, or cancelling the task reading it)
        is a barge-in: generation stops, and the partial answer is kept in the session's
        history marked ``[interrupted]`` and priced in the ledger as interrupted.

        Args:
            session_id: Any string up to 256 characters; sessions never share cache or history.
            question: The user's turn.

        Yields:
            ``str`` deltas, then exactly one final :class:`~contextual_avatar.types.Answer`.

        Raises:
            InputError: Empty or oversized session id or question.
            ModelError: The model tiers failed.
        """
        _check_session(session_id)
        question = _check_question(question)
        timings: dict[str, float] = {}
        t0 = time.perf_counter()

        related = asyncio.create_task(self._related_facts(session_id, question))
        history = await self._history.recent(session_id)
        rcfg = self.config.retrieval
        state = conversation_state(rcfg, history)
        texts = conversation_queries(
            question, history, turns=rcfg.history_turns if rcfg.conversation else 0
        )
        query = await asyncio.to_thread(self._embed, texts)
        t1 = time.perf_counter()
        timings["embed"] = (t1 - t0) * 1000

        # The cache judges with the same evidence as the retriever: cosine, the question's
        # rarer terms (names, places: what marks a topic), the conversation's document focus.
        cached, decision = await self._cache.lookup(
            session_id,
            query,
            terms=self._lexical.salient(
                terms(question), max_share=self.config.cache.common_term_share
            ),
            focus=state.doc_focus,
        )
        t2 = time.perf_counter()
        timings["cache"] = (t2 - t1) * 1000

        if decision.hit:
            context: list[ScoredChunk] = cached
            timings["search"] = 0.0
        else:
            context = self._retriever.search(texts, query, rcfg.top_k, state=state)
            if context:
                vectors = self._index.vectors_for([c.chunk.id for c in context])
                await self._cache.admit(session_id, context, vectors)
            timings["search"] = (time.perf_counter() - t2) * 1000
        # Merge neighbours, drop near-duplicates, fit the token budget (cache or index alike).
        context = assemble_context(
            context, budget_tokens=rcfg.context_tokens, count_tokens=self._count_tokens
        )

        route = self._router.route(question, context, cache_hit=decision.hit)
        facts = await related
        context = context + [_fact_chunk(f) for f in facts]
        t3 = time.perf_counter()
        parts: list[str] = []
        reply: Reply | None = None
        try:
            async with aclosing(
                self._tiers.stream(route.tier, question, context=context, history=history)
            ) as stream:
                async for item in stream:
                    if isinstance(item, Reply):
                        reply = item
                        continue
                    if not parts:
                        timings["first_token"] = (time.perf_counter() - t3) * 1000
                    parts.append(item)
                    yield item
        except (asyncio.CancelledError, GeneratorExit):
            await self._record_interrupted(session_id, question, "".join(parts), route, context)
            raise
        assert reply is not None
        t4 = time.perf_counter()
        timings["answer"] = (t4 - t3) * 1000
        turn = await self._history.append(
            session_id, Turn(question, reply.text, tuple(c.chunk.id for c in context))
        )
        entry = await asyncio.to_thread(
            self._price_turn, session_id, route.tier, reply.model, reply, context
        )
        timings["total"] = (time.perf_counter() - t0) * 1000
        log.debug(
            "session %s: %s, %.1f ms", session_tag(session_id), decision.reason, timings["total"]
        )
        answer = Answer(
            text=reply.text,
            citations=reply.citations,
            context=tuple(context),
            cache_hit=decision.hit,
            cache=decision,
            route=route,
            tokens=reply.tokens,
            cost_usd=reply.cost_usd,
            timings=timings,
            session_id=session_id,
            question=question,
            saved_usd=entry.saved_usd,
            facts=tuple(facts),
        )
        writer = self._graph_writer()
        if writer is not None:  # background: the ask never waits on the graph
            writer.submit(
                extract_facts(
                    session_id=session_id,
                    turn=turn,
                    question=question,
                    answer=answer,
                    now=time.time(),
                )
            )
        yield answer

    def _price_turn(
        self,
        session_id: str,
        tier: Tier,
        model: str,
        reply: Reply,
        context: Sequence[ScoredChunk],
        *,
        interrupted: bool = False,
    ) -> LedgerEntry:
        """Record a turn in the ledger beside its full-retrieval, large-model baseline."""
        top_k = self.config.routing.baseline_top_k or self.config.retrieval.top_k
        baseline = baseline_prompt_tokens(
            prompt_tokens=reply.tokens.prompt,
            context_tokens=sum(self._count_tokens(c.chunk.text) for c in context),
            top_k=top_k,
            chunk_tokens=self.config.chunking.chunk_tokens,
        )
        return self.ledger.record(
            session_id,
            model=model,
            tier=tier,
            tokens=reply.tokens,
            cached_prompt_tokens=reply.cached_prompt_tokens,
            baseline_prompt_tokens=baseline,
            interrupted=interrupted,
        )

    async def _record_interrupted(
        self,
        session_id: str,
        question: str,
        partial: str,
        route: RouteDecision,
        context: Sequence[ScoredChunk],
    ) -> None:
        """Keep a barged-in turn consistent: history says it was cut, the ledger prices it.

        Prompt tokens are estimated (question plus context), since the stream ended
        before the model reported them.
        """
        text = partial.strip()
        await self._history.append(
            session_id,
            Turn(question, text + INTERRUPTED_MARK, tuple(c.chunk.id for c in context)),
        )
        prompt = self._count_tokens(question) + sum(
            self._count_tokens(c.chunk.text) for c in context
        )
        usage = TokenUsage(prompt, self._count_tokens(text) if text else 0)
        reply = Reply(text, (), usage, 0.0, route.model)
        await asyncio.to_thread(
            self._price_turn, session_id, route.tier, route.model, reply, context, interrupted=True
        )
        log.debug(
            "session %s: answer interrupted after %d characters", session_tag(session_id), len(text)
        )

    async def forget(self, session_id: str) -> None:
        """Drop a session's cache and history."""
        _check_session(session_id)
        await self._cache.store.clear(session_id)
        await self._history.clear(session_id)

    # -- lifecycle ---------------------------------------------------------------------

    async def flush(self) -> None:
        """Wait until every fact learned so far has reached the knowledge graph."""
        if self._writer is not None:
            await self._writer.flush()

    async def aclose(self) -> None:
        """Release stores and connections after delivering pending knowledge.

        Facts the graph cannot take in time stay in the outbox for the next engine.
        """
        if self._writer is not None:
            await self._writer.aclose(timeout_s=self.config.knowledge.close_timeout_s)
        if self._graph is not None:
            await self._graph.close()
        await self._cache.store.aclose()
        await self._history.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class ContextEngine:
    """The blocking face of :class:`AsyncContextEngine`: same methods, no ``await``.

    It runs the async core on a private event loop thread. Use it from ordinary code;
    from async code use :class:`AsyncContextEngine` directly.
    """

    def __init__(
        self,
        config: EngineConfig | None = None,
        *,
        embedder: Embedder | None = None,
        store: ChunkStore | None = None,
        responder: Responder | None = None,
        router: Router | None = None,
    ) -> None:
        """Open the engine; see :class:`AsyncContextEngine` for the arguments."""
        self._loop = LoopThread()
        try:
            self._core = AsyncContextEngine(
                config, embedder=embedder, store=store, responder=responder, router=router
            )
        except BaseException:
            self._loop.close()
            raise

    @property
    def config(self) -> EngineConfig:
        """The engine's settings."""
        return self._core.config

    @property
    def documents(self) -> list[DocRecord]:
        """Documents in the index, in ingest order."""
        return self._core.documents

    def ingest(self, path: str | Path, *, progress: ProgressFn | None = None) -> IngestReport:
        """See :meth:`AsyncContextEngine.ingest`."""
        return self._loop.run(self._core.ingest(path, progress=progress))

    def ask(self, session_id: str, question: str) -> Answer:
        """See :meth:`AsyncContextEngine.ask`."""
        return self._loop.run(self._core.ask(session_id, question))

    def ask_stream(self, session_id: str, question: str) -> Iterator[str | Answer]:
        """See :meth:`AsyncContextEngine.ask_stream`; closing the iterator early is a barge-in."""
        return _iterate(self._loop, self._core.ask_stream(session_id, question))

    @property
    def ledger(self) -> CostLedger:
        """Tokens and USD per turn, per session and in total, against the baseline."""
        return self._core.ledger

    def forget(self, session_id: str) -> None:
        """See :meth:`AsyncContextEngine.forget`."""
        self._loop.run(self._core.forget(session_id))

    def flush(self) -> None:
        """See :meth:`AsyncContextEngine.flush`."""
        self._loop.run(self._core.flush())

    def close(self) -> None:
        """Release stores and stop the loop thread (idempotent)."""
        if not self._loop.loop.is_closed():
            self._loop.run(self._core.aclose())
            self._loop.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _iterate(loop: LoopThread, stream: AsyncIterator[T]) -> Iterator[T]:
    """Drive an async iterator from blocking code through the loop thread.

    Closing the returned iterator (``break``, ``close()``, garbage collection) closes the
    async one on its loop, so a barge-in reaches the model.
    """

    async def step() -> tuple[bool, T | None]:
        try:
            return True, await anext(stream)
        except StopAsyncIteration:
            return False, None

    async def close() -> None:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()

    try:
        while True:
            more, item = loop.run(step())
            if not more:
                return
            yield item  # type: ignore[misc]
    finally:
        if not loop.loop.is_closed():
            loop.run(close())


def _fact_chunk(fact: Fact) -> ScoredChunk:
    """A related fact as a context item, cited as shared knowledge."""
    text = format_fact(fact)
    ref = SourceRef(source=f"shared knowledge (turn {fact.turn} of another conversation)")
    chunk = Chunk(f"fact:{fact.id}", KNOWLEDGE_DOC_ID, 0, text, (Span(0, len(text), ref),))
    return ScoredChunk(chunk, 0.0)


def _check_session(session_id: object) -> None:
    if not isinstance(session_id, str) or not session_id:
        raise InputError(f"session_id must be a non-empty string, got {session_id!r}")
    if len(session_id) > MAX_SESSION_ID_CHARS:
        raise InputError(
            f"session_id is {len(session_id)} characters; the limit is {MAX_SESSION_ID_CHARS}"
        )
    try:  # stores and databases take UTF-8 only; an id must survive the round trip exactly
        session_id.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError("session_id is not valid Unicode text (it has a lone surrogate)") from exc


def _check_question(question: object) -> str:
    if not isinstance(question, str) or not question.strip():
        raise InputError(f"question must be a non-empty string, got {question!r}")
    if len(question) > MAX_QUESTION_CHARS:
        raise InputError(
            f"question is {len(question)} characters; the limit is {MAX_QUESTION_CHARS}"
        )
    # A lone surrogate (a broken client's JSON) would crash every UTF-8 consumer downstream.
    return question.strip().encode("utf-8", "replace").decode("utf-8")
