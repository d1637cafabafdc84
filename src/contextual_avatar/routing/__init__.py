"""Routing and answering: the router seam, the responders, the LLM client, the ledger."""

from contextual_avatar._text import split_sentences
from contextual_avatar.routing._client import LiteLLMResponder
from contextual_avatar.routing._config import (
    DEFAULT_SYSTEM_PROMPT,
    EXTRACTIVE,
    AnswerConfig,
    LLMConfig,
    RoutingConfig,
)
from contextual_avatar.routing._extractive import ExtractiveResponder
from contextual_avatar.routing._ledger import (
    CostLedger,
    LedgerEntry,
    LedgerTotals,
    baseline_prompt_tokens,
    configured_prices,
)
from contextual_avatar.routing._litellm import ModelPrices, import_litellm, register_prices
from contextual_avatar.routing._prompt import PackedPrompt, PromptPacker, parse_citations
from contextual_avatar.routing._responder import (
    Reply,
    Responder,
    StreamingResponder,
    stream_reply,
)
from contextual_avatar.routing._router import (
    EvidenceRouter,
    RouteEvidence,
    SimilarityRouter,
    calibrate_threshold,
    threshold_for_precision,
)
from contextual_avatar.routing._sentence_store import SentenceStore
from contextual_avatar.routing._sentence_vectors import SentenceVectors
from contextual_avatar.routing._tiers import Tiers, build_tiers

__all__ = [
    "DEFAULT_SYSTEM_PROMPT",
    "EXTRACTIVE",
    "AnswerConfig",
    "CostLedger",
    "EvidenceRouter",
    "ExtractiveResponder",
    "LLMConfig",
    "LedgerEntry",
    "LedgerTotals",
    "LiteLLMResponder",
    "ModelPrices",
    "PackedPrompt",
    "PromptPacker",
    "Reply",
    "Responder",
    "RouteEvidence",
    "RoutingConfig",
    "SentenceStore",
    "SentenceVectors",
    "SimilarityRouter",
    "StreamingResponder",
    "Tiers",
    "baseline_prompt_tokens",
    "build_tiers",
    "calibrate_threshold",
    "configured_prices",
    "import_litellm",
    "parse_citations",
    "register_prices",
    "split_sentences",
    "stream_reply",
    "threshold_for_precision",
]
