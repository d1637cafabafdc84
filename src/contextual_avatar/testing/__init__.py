"""Helpers for tests and benchmarks: real servers started as child processes.

Importable without any extra; each helper checks its own dependency when used.
"""

from __future__ import annotations

from contextual_avatar.testing._bolt import BoltServer, BoltServerError, free_port
from contextual_avatar.testing._documents import make_answer, make_pdf
from contextual_avatar.testing._llm_server import LLMServer, LLMServerError, smollm2_path
from contextual_avatar.testing._redis import RedisServer

__all__ = [
    "BoltServer",
    "BoltServerError",
    "LLMServer",
    "LLMServerError",
    "RedisServer",
    "free_port",
    "make_answer",
    "make_pdf",
    "smollm2_path",
]
