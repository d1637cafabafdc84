"""The parts an engine is made of, and the one builder that makes what a host leaves out.

A host gives the engine its own parts through :class:`Parts`; :func:`build` makes every
part not given from the :class:`~contextual_avatar.EngineConfig`, then wires the turn's
stages to them. Nothing else builds parts: the engine only calls :func:`build`.

Parts a host gives stay the host's: the engine never closes them. Parts the engine
built, it closes in ``aclose()``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from contextual_avatar.cache import (
    ChunkCache,
    ChunkStore,
    EvictionPolicy,
    History,
    build_bindings,
    build_history,
    build_store,
)
from contextual_avatar.config import EngineConfig
from contextual_avatar.errors import ConfigError
from contextual_avatar.ingest import DocumentCounter, count_tokens
from contextual_avatar.knowledge import KnowledgeGraphSink, open_sink
from contextual_avatar.pipeline import (
    Assemble,
    Enrich,
    Indexer,
    Recall,
    Record,
    Respond,
    RetrievalPrior,
    Route,
    Scope,
    SharedKnowledge,
    TurnPipeline,
    Understand,
    document_terms,
    indexed_chunks,
)
from contextual_avatar.retrieval import (
    DEFAULT_COLLECTION,
    BatchingEmbedder,
    Collections,
    Corpus,
    Embedder,
    Retriever,
    build_embedder,
    terms,
)
from contextual_avatar.retrieval._backend import MilvusBackend, milvus_backend
from contextual_avatar.routing import (
    CostLedger,
    EvidenceRouter,
    ExtractiveResponder,
    Responder,
    SentenceStore,
    SentenceVectors,
    SimilarityRouter,
    Tiers,
    build_tiers,
    configured_prices,
)

__all__ = ["Built", "Parts", "build"]


@dataclass(frozen=True, slots=True)
class Parts:
    """The replaceable parts of an engine; ``None`` means "build it from the config".

    Parameters:
        embedder: Turns texts into unit vectors (:class:`~contextual_avatar.Embedder`).
            The index on disk remembers which embedder built it.
        retriever: Searches on a cache miss (:class:`~contextual_avatar.Retriever`);
            by default the hybrid FAISS + BM25 search over the ingested corpus.
        store: Where session caches live (:class:`~contextual_avatar.ChunkStore`); by
            default memory or Redis as ``cache.store`` says.
        policy: Makes one eviction policy per session (a subclass of
            :class:`~contextual_avatar.EvictionPolicy`, or any zero-argument factory);
            replaces ``cache.policy`` in whichever store the config picks, with
            ``cache.capacity``. Give a ``store`` or a ``policy``, not both.
        sink: The shared knowledge graph (:class:`~contextual_avatar.KnowledgeGraphSink`).
        router: Picks the tier per turn (:class:`~contextual_avatar.SimilarityRouter`).
        small: Answers turns routed small (:class:`~contextual_avatar.Responder`).
        large: Answers turns routed large. Fallback between the two stays as
            ``routing.fallback`` says.
        history: The sessions' recent turns; by default beside the cache (memory or Redis).
    """

    embedder: Embedder | None = None
    retriever: Retriever | None = None
    store: ChunkStore | None = None
    policy: Callable[[], EvictionPolicy] | None = None
    sink: KnowledgeGraphSink | None = None
    router: SimilarityRouter | None = None
    small: Responder | None = None
    large: Responder | None = None
    history: History | None = None


@dataclass(frozen=True, slots=True)
class Built:
    """Everything :func:`build` made: the filled-in parts and what wires them.

    Parameters:
        parts: Every part, the host's and the built ones.
        owned: Names of the parts the engine built (and so closes).
        corpus: The default collection's documents (index, BM25, default retriever).
        cache: The session cache's hit and admission rules over ``parts.store``.
        history: ``parts.history``, never ``None``.
        tiers: The small/large responder pair with fallback.
        ledger: Cost per turn against the baseline.
        knowledge: Reads related facts, writes new ones in the background.
        pipeline: The turn's stages.
        indexer: The ingest path.
        collections: Every collection's corpus (``corpus`` is the default one).
        scope: Resolves a turn's collection and binds sessions to collections.
        backend: The Milvus backend (``retrieval.backend = "milvus"``), else ``None``.
    """

    parts: Parts
    owned: frozenset[str]
    corpus: Corpus
    cache: ChunkCache
    history: History
    tiers: Tiers
    ledger: CostLedger
    knowledge: SharedKnowledge
    pipeline: TurnPipeline
    indexer: Indexer
    collections: Collections
    scope: Scope
    backend: MilvusBackend | None = None


def build(config: EngineConfig, given: Parts | None = None) -> Built:
    """Make every part ``given`` leaves out, from ``config``, and wire the stages.

    Raises:
        ConfigError: Both a store and a policy were given, or the index on disk was
            built with another embedder.
        IndexCorruptError: The persisted index cannot be read.
        MissingDependencyError: The config asks for a backend whose extra is missing.
    """
    given = given or Parts()
    if given.store is not None and given.policy is not None:
        raise ConfigError(
            "give Parts(store=...) or Parts(policy=...), not both: a store brings its own "
            "policy (build it with that policy), a policy is applied to the configured store"
        )
    cfg = config
    tokens = partial(count_tokens, encoding=cfg.chunking.encoding)
    # Context chunks recur turn after turn: their counts are remembered (document text only).
    context_tokens = DocumentCounter(cfg.chunking.encoding)
    embedder = given.embedder or build_embedder(cfg.embedder)
    # Turns' queries and the answerer's sentences share forward passes (ingest does not).
    batcher = BatchingEmbedder(
        embedder, max_texts=cfg.embedder.batch_max_texts, max_wait_ms=cfg.embedder.batch_wait_ms
    )
    # retrieval.backend = "milvus": Milvus serves every collection's searches.
    backend = None
    if given.retriever is None:
        backend = milvus_backend(cfg.retrieval, dim=embedder.dim, data_dir=cfg.data_dir)
    collections = Collections(
        cfg.data_dir,
        cfg.retrieval,
        dim=embedder.dim,
        embedder=embedder.name,
        on_drop=None if backend is None else backend.dropped,
    )
    corpus = collections.default
    sink = given.sink if given.sink is not None else open_sink(cfg.knowledge, data_dir=cfg.data_dir)
    # Sentence vectors on disk: ingest writes them, every answering process reads them.
    sentence_store = SentenceStore.in_folder(cfg.data_dir, model=embedder.name, dim=embedder.dim)
    extractive = ExtractiveResponder(
        batcher.embed,
        count_tokens=tokens,
        count_context=context_tokens,
        max_sentences=cfg.answer.max_sentences,
        context_chunks=cfg.answer.context_chunks,
        vectors=SentenceVectors(batcher.embed, store=sentence_store),
    )
    tiers = build_tiers(cfg.routing, extractive=extractive, small=given.small, large=given.large)
    store = given.store or build_store(cfg.cache, policy=given.policy)
    history = given.history or build_history(cfg.cache)
    router = given.router or EvidenceRouter(
        threshold=cfg.routing.threshold,
        margin_weight=cfg.routing.margin_weight,
        cache_hit_bonus=cfg.routing.cache_hit_bonus,
    )
    searcher = given.retriever
    retriever = searcher or corpus
    if backend is not None:  # the default collection's, for hosts that read parts.retriever
        retriever = backend.retriever(DEFAULT_COLLECTION, corpus)
    parts = dataclasses.replace(
        given,
        embedder=embedder,
        retriever=retriever,
        store=store,
        sink=sink,
        router=router,
        small=tiers.small,
        large=tiers.large,
        history=history,
    )

    cache = ChunkCache(
        store,
        threshold=cfg.cache.hit_threshold,
        enabled=cfg.cache.enabled,
        admission=cfg.cache.admission,
        neighbours=cfg.cache.neighbours,
        source=corpus,
        max_missing=cfg.cache.max_missing_terms,
        analyzer=terms,
        prefetch=cfg.cache.prefetch,
    )
    ledger = CostLedger(
        baseline_model=tiers.large.model,
        prices=configured_prices(cfg.routing.small, cfg.routing.large),
    )
    knowledge = SharedKnowledge(
        sink,
        cfg.knowledge,
        outbox_dir=cfg.knowledge.outbox_dir or cfg.data_dir / "outbox",
        terms_of=document_terms(collections, max_share=cfg.cache.common_term_share),
    )
    scope = Scope(collections, build_bindings(cfg.cache))
    pipeline = TurnPipeline(
        understand=Understand(history, batcher, cfg.retrieval),
        recall=Recall(
            cache,
            searcher,
            scope,
            embedder,
            top_k=cfg.retrieval.top_k,
            common_term_share=cfg.cache.common_term_share,
            backend=None if backend is None else backend.retriever,
            prior=RetrievalPrior(knowledge, resolve=indexed_chunks(collections)),
        ),
        enrich=Enrich(
            knowledge,
            resolve=indexed_chunks(collections),
            budget_tokens=cfg.retrieval.context_tokens,
            count_tokens=tokens,
        ),
        assemble=Assemble(budget_tokens=cfg.retrieval.context_tokens, count_tokens=context_tokens),
        route=Route(router, tiers),
        answer=Respond(tiers),
        record=Record(
            history,
            ledger,
            knowledge,
            count_tokens=tokens,
            count_context=context_tokens,
            baseline_top_k=cfg.routing.baseline_top_k or cfg.retrieval.top_k,
            chunk_tokens=cfg.chunking.chunk_tokens,
        ),
    )
    indexer = Indexer(
        collections,
        embedder,
        ingest=cfg.ingest,
        chunking=cfg.chunking,
        transcription=cfg.transcription,
        batch_size=cfg.embedder.batch_size,
        count_tokens=tokens,
        # Only the offline answerer reads sentence vectors: LLM-only tiers skip the cost.
        sentences=SentenceVectors(embedder.embed, max_chunks=1, store=sentence_store)
        if extractive in (tiers.small, tiers.large)
        else None,
    )
    owned = frozenset(name for name in ("store", "sink", "history") if getattr(given, name) is None)
    return Built(
        parts,
        owned,
        corpus,
        cache,
        history,
        tiers,
        ledger,
        knowledge,
        pipeline,
        indexer,
        collections,
        scope,
        backend,
    )
