"""Helpers for tests and benchmarks: real servers as child processes, and contract suites.

Importable without any extra; each helper checks its own dependency when used. The
contract suites (one per interface a host can implement) import pytest and Hypothesis,
so each loads on first use: subclass one in your test suite and give it one fixture
(see ``docs/extending.md``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from contextual_avatar._lazy import lazy_exports
from contextual_avatar.testing._bolt import BoltServer, BoltServerError, free_port
from contextual_avatar.testing._documents import make_answer, make_pdf
from contextual_avatar.testing._llm_server import LLMServer, LLMServerError, smollm2_path
from contextual_avatar.testing._redis import RedisServer
from contextual_avatar.testing._redis_cluster import RedisClusterServer
from contextual_avatar.testing._server import running_server

if TYPE_CHECKING:
    from contextual_avatar.testing._contract_cache import (
        ChunkStoreContract,
        EvictionPolicyContract,
    )
    from contextual_avatar.testing._contract_codec import MediaCodecContract
    from contextual_avatar.testing._contract_embedder import EmbedderContract
    from contextual_avatar.testing._contract_knowledge import KnowledgeGraphSinkContract
    from contextual_avatar.testing._contract_retriever import RetrieverContract
    from contextual_avatar.testing._contract_routing import (
        ResponderContract,
        SimilarityRouterContract,
    )

__all__ = [
    "BoltServer",
    "BoltServerError",
    "ChunkStoreContract",
    "EmbedderContract",
    "EvictionPolicyContract",
    "KnowledgeGraphSinkContract",
    "LLMServer",
    "LLMServerError",
    "MediaCodecContract",
    "RedisClusterServer",
    "RedisServer",
    "ResponderContract",
    "RetrieverContract",
    "SimilarityRouterContract",
    "free_port",
    "make_answer",
    "make_pdf",
    "running_server",
    "smollm2_path",
]

_CONTRACTS = {
    "ChunkStoreContract": "._contract_cache",
    "EvictionPolicyContract": "._contract_cache",
    "MediaCodecContract": "._contract_codec",
    "EmbedderContract": "._contract_embedder",
    "KnowledgeGraphSinkContract": "._contract_knowledge",
    "ResponderContract": "._contract_routing",
    "RetrieverContract": "._contract_retriever",
    "SimilarityRouterContract": "._contract_routing",
}

if not TYPE_CHECKING:  # mypy reads the imports above; only the runtime is lazy
    __getattr__, __dir__ = lazy_exports(__name__, _CONTRACTS)
