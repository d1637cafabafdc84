"""Settings for answering."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["AnswerConfig"]


class AnswerConfig(BaseModel):
    """The offline extractive answerer used when no LLM is configured.

    Parameters:
        max_sentences: Sentences quoted in an answer.
        context_chunks: Chunks given to the answerer (best first).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_sentences: int = Field(default=2, ge=1, le=10)
    context_chunks: int = Field(default=3, ge=1, le=50)
