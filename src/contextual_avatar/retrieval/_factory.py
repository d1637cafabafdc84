"""Build the configured retriever and conversation state from :class:`RetrievalConfig`."""

from __future__ import annotations

from collections.abc import Sequence

from contextual_avatar.retrieval._bm25 import BM25Index
from contextual_avatar.retrieval._config import RetrievalConfig
from contextual_avatar.retrieval._faiss import FaissIndex
from contextual_avatar.retrieval._hybrid import STATELESS, HybridRetriever, PriorWeights
from contextual_avatar.retrieval._state import ConversationState
from contextual_avatar.types import Turn

__all__ = ["build_retriever", "conversation_state"]


def build_retriever(
    config: RetrievalConfig, index: FaissIndex, lexical: BM25Index | None
) -> HybridRetriever:
    """The retriever ``config`` describes, over ``index`` and its BM25 twin ``lexical``."""
    dense_w, lex_w = config.dense_weight, config.lexical_weight
    if config.mode == "dense":
        dense_w, lex_w = 1.0, 0.0
    elif config.mode == "lexical":
        dense_w, lex_w = 0.0, 1.0
    prior = (
        PriorWeights(
            doc=config.doc_prior,
            neighbour=config.neighbour_prior,
            followup=config.followup_weight,
        )
        if config.conversation
        else STATELESS
    )
    return HybridRetriever(
        index,
        lexical if lex_w > 0 else None,
        dense_weight=dense_w,
        lexical_weight=lex_w,
        fusion=config.fusion,
        prior=prior,
        candidates=config.candidates,
        rrf_k=config.rrf_k,
    )


def conversation_state(config: RetrievalConfig, history: Sequence[Turn]) -> ConversationState:
    """The session's state as ``config`` derives it (empty when conversation is off)."""
    if not config.conversation:
        return ConversationState()
    return ConversationState.from_history(
        history, turns=config.state_turns, decay=config.focus_decay
    )
