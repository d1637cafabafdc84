"""Ingest: loaders for PDFs, text, transcripts and media, and the token chunker."""

from contextual_avatar.ingest._chunker import chunk_segments
from contextual_avatar.ingest._config import ChunkingConfig, IngestConfig
from contextual_avatar.ingest._pdf import load_pdf
from contextual_avatar.ingest._reader import check_file, content_hash, kind_of, read_segments
from contextual_avatar.ingest._subtitles import load_subtitles
from contextual_avatar.ingest._text import clean_text, load_text
from contextual_avatar.ingest._tokens import count_tokens, get_encoding

__all__ = [
    "ChunkingConfig",
    "IngestConfig",
    "check_file",
    "chunk_segments",
    "clean_text",
    "content_hash",
    "count_tokens",
    "get_encoding",
    "kind_of",
    "load_pdf",
    "load_subtitles",
    "load_text",
    "read_segments",
]
