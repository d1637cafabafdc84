"""Ingest: loaders for PDFs, text, transcripts and media, and the token chunker.

Each name loads its module on first use: ``count_tokens`` needs tiktoken, not pypdf, and
whisper, torch and PyAV are imported only when a recording is transcribed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from contextual_avatar._lazy import lazy_exports

if TYPE_CHECKING:
    from contextual_avatar.ingest._chunker import chunk_segments
    from contextual_avatar.ingest._config import ChunkingConfig, IngestConfig
    from contextual_avatar.ingest._media import MEDIA_SUFFIXES
    from contextual_avatar.ingest._pdf import load_pdf
    from contextual_avatar.ingest._reader import (
        check_file,
        content_hash,
        kind_of,
        read_segments,
    )
    from contextual_avatar.ingest._stm import load_stm
    from contextual_avatar.ingest._subtitles import load_subtitles
    from contextual_avatar.ingest._text import clean_text, load_text
    from contextual_avatar.ingest._tokens import DocumentCounter, count_tokens, get_encoding
    from contextual_avatar.ingest._transcribe import load_media
    from contextual_avatar.ingest._transcribe_config import TranscriptionConfig
    from contextual_avatar.ingest._whisper_convert import (
        convert_ctranslate2_whisper,
        default_whisper_checkpoint,
    )

__all__ = [
    "MEDIA_SUFFIXES",
    "ChunkingConfig",
    "DocumentCounter",
    "IngestConfig",
    "TranscriptionConfig",
    "check_file",
    "chunk_segments",
    "clean_text",
    "content_hash",
    "convert_ctranslate2_whisper",
    "count_tokens",
    "default_whisper_checkpoint",
    "get_encoding",
    "kind_of",
    "load_media",
    "load_pdf",
    "load_stm",
    "load_subtitles",
    "load_text",
    "read_segments",
]

_LAZY = {
    "MEDIA_SUFFIXES": "._media",
    "ChunkingConfig": "._config",
    "DocumentCounter": "._tokens",
    "IngestConfig": "._config",
    "TranscriptionConfig": "._transcribe_config",
    "check_file": "._reader",
    "chunk_segments": "._chunker",
    "clean_text": "._text",
    "content_hash": "._reader",
    "convert_ctranslate2_whisper": "._whisper_convert",
    "count_tokens": "._tokens",
    "default_whisper_checkpoint": "._whisper_convert",
    "get_encoding": "._tokens",
    "kind_of": "._reader",
    "load_media": "._transcribe",
    "load_pdf": "._pdf",
    "load_stm": "._stm",
    "load_subtitles": "._subtitles",
    "load_text": "._text",
    "read_segments": "._reader",
}

if not TYPE_CHECKING:  # mypy and IDEs read the imports above
    __getattr__, __dir__ = lazy_exports(__name__, _LAZY)
