"""Engine configuration: one frozen model per part, nested in :class:`EngineConfig`.

Each part defines its own settings model beside its code; this module nests them.
Every default is embedded, so ``EngineConfig()`` runs with no server and no key.
Only :meth:`EngineConfig.from_env` reads the environment, with names like
``CONTEXTUAL_AVATAR_CACHE__CAPACITY=8`` (prefix, section, ``__``, field).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from contextual_avatar.cache._config import CacheConfig
from contextual_avatar.codecs._config import CodecConfig
from contextual_avatar.errors import ConfigError
from contextual_avatar.ingest._config import ChunkingConfig, IngestConfig
from contextual_avatar.ingest._transcribe_config import TranscriptionConfig
from contextual_avatar.knowledge._config import KnowledgeConfig
from contextual_avatar.retrieval._config import EmbedderConfig, RetrievalConfig
from contextual_avatar.routing._config import AnswerConfig, RoutingConfig

__all__ = [
    "AnswerConfig",
    "CacheConfig",
    "ChunkingConfig",
    "CodecConfig",
    "EmbedderConfig",
    "EngineConfig",
    "IngestConfig",
    "KnowledgeConfig",
    "RetrievalConfig",
    "RoutingConfig",
    "TranscriptionConfig",
]

ENV_PREFIX = "CONTEXTUAL_AVATAR_"


def default_data_dir() -> Path:
    """Per-user data directory (index, graph, transcripts) following the OS convention."""
    return Path(platformdirs.user_data_dir("contextual-avatar", appauthor=False))


class EngineConfig(BaseModel):
    """Everything the engine needs, with embedded defaults.

    Parameters:
        data_dir: Where the index and other persistent state live.
        chunking: See :class:`ChunkingConfig`.
        embedder: See :class:`EmbedderConfig`.
        ingest: See :class:`IngestConfig`.
        transcription: See :class:`TranscriptionConfig` (audio and video ingest).
        cache: See :class:`CacheConfig`.
        retrieval: See :class:`RetrievalConfig`.
        answer: See :class:`AnswerConfig`.
        routing: See :class:`RoutingConfig` (model tiers, router, LLM limits).
        knowledge: See :class:`KnowledgeConfig` (the shared knowledge graph).
        codecs: See :class:`CodecConfig` (used by the media codecs, not by ``ask``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    data_dir: Path = Field(default_factory=default_data_dir)
    chunking: ChunkingConfig = ChunkingConfig()
    embedder: EmbedderConfig = EmbedderConfig()
    ingest: IngestConfig = IngestConfig()
    transcription: TranscriptionConfig = TranscriptionConfig()
    cache: CacheConfig = CacheConfig()
    retrieval: RetrievalConfig = RetrievalConfig()
    answer: AnswerConfig = AnswerConfig()
    routing: RoutingConfig = RoutingConfig()
    knowledge: KnowledgeConfig = KnowledgeConfig()
    codecs: CodecConfig = CodecConfig()

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise ConfigError(_describe(exc)) from exc

    @classmethod
    def from_env(
        cls, *, default_data_dir: str | Path | None = None, **overrides: Any
    ) -> EngineConfig:
        """Build a config from ``CONTEXTUAL_AVATAR_*`` variables; keyword overrides win.

        Args:
            default_data_dir: The application's own data folder, used unless
                ``CONTEXTUAL_AVATAR_DATA_DIR`` or a ``data_dir`` override says otherwise
                (without it, the per-user folder that every application shares).
            overrides: Field values that win over the environment.

        Raises:
            ConfigError: A variable holds a value its field rejects (the message names it).
        """
        try:
            settings = _env_settings()(**overrides)
        except ValidationError as exc:
            raise ConfigError(_describe(exc, env=True)) from exc
        values = settings.model_dump()
        # Fields the environment or an override set are the ones pydantic-settings marks.
        if default_data_dir is not None and "data_dir" not in settings.model_fields_set:
            values["data_dir"] = default_data_dir
        return cls(**values)


@functools.cache
def _env_settings() -> type[Any]:
    """The environment reader, in the shape of EngineConfig.

    Built from EngineConfig's fields, so the two cannot drift apart; built on first use,
    since pydantic-settings costs about 80 ms to import.
    """
    from pydantic_settings import BaseSettings, SettingsConfigDict

    class _EnvBase(BaseSettings):
        model_config = SettingsConfigDict(
            env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="ignore", frozen=True
        )

    fields: dict[str, Any] = {
        name: (f.annotation, f) for name, f in EngineConfig.model_fields.items()
    }
    model: type[Any] = create_model("_EnvSettings", __base__=_EnvBase, **fields)
    return model


def _describe(exc: ValidationError, *, env: bool = False) -> str:
    """One line per bad field, naming it as the user wrote it."""
    lines = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        name = (ENV_PREFIX + "__".join(loc)).upper() if env else ".".join(loc)
        lines.append(f"{name}: {err['msg']} (got {err.get('input')!r})")
    return "invalid configuration: " + "; ".join(lines)
