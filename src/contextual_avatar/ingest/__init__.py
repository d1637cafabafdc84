"""Ingest: loaders for PDFs, text, transcripts and media, and the token chunker.

whisper and torch are imported only when a recording is transcribed.
"""

from contextual_avatar.ingest._chunker import chunk_segments
from contextual_avatar.ingest._config import ChunkingConfig, IngestConfig
from contextual_avatar.ingest._media import MEDIA_SUFFIXES
from contextual_avatar.ingest._pdf import load_pdf
from contextual_avatar.ingest._reader import check_file, content_hash, kind_of, read_segments
from contextual_avatar.ingest._stm import load_stm
from contextual_avatar.ingest._subtitles import load_subtitles
from contextual_avatar.ingest._text import clean_text, load_text
from contextual_avatar.ingest._tokens import count_tokens, get_encoding
from contextual_avatar.ingest._transcribe import load_media
from contextual_avatar.ingest._transcribe_config import TranscriptionConfig
from contextual_avatar.ingest._whisper_convert import (
    convert_ctranslate2_whisper,
    default_whisper_checkpoint,
)

__all__ = [
    "MEDIA_SUFFIXES",
    "ChunkingConfig",
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
