"""Pick a loader by file type and check the file before anything reads it.

Every failure is an :class:`~contextual_avatar.errors.IngestError` naming the file,
raised before the index is touched, so a failed ingest changes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from contextual_avatar.errors import IngestError
from contextual_avatar.ingest._media import MEDIA_SUFFIXES
from contextual_avatar.ingest._subtitles import load_subtitles
from contextual_avatar.ingest._text import load_text
from contextual_avatar.ingest._transcribe_config import TranscriptionConfig
from contextual_avatar.types import Segment

__all__ = ["DocumentKind", "check_file", "content_hash", "kind_of", "read_segments"]

DocumentKind = Literal["pdf", "text", "subtitles", "media"]

TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".rst"})
SUBTITLE_SUFFIXES = frozenset({".srt", ".vtt"})


def kind_of(path: Path) -> DocumentKind:
    """The loader family for a file, from its suffix.

    Raises:
        IngestError: The suffix is not one this library reads.
    """
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        return "pdf"
    if suffix in TEXT_SUFFIXES:
        return "text"
    if suffix in SUBTITLE_SUFFIXES or suffix == ".stm":
        return "subtitles"
    if suffix in MEDIA_SUFFIXES:
        return "media"
    known = sorted({".pdf", ".stm", *TEXT_SUFFIXES, *SUBTITLE_SUFFIXES, *MEDIA_SUFFIXES})
    raise IngestError(
        path, f"unknown file type {suffix or '(none)'!r}; supported: {', '.join(known)}"
    )


def check_file(path: Path, *, max_bytes: int) -> int:
    """Check that ``path`` is a readable, non-empty regular file within the size limit.

    Returns:
        The file's size in bytes.

    Raises:
        IngestError: Missing, a directory, empty, too large or unreadable.
    """
    try:
        stat = path.stat()
    except FileNotFoundError as exc:
        raise IngestError(path, "no such file") from exc
    except OSError as exc:
        raise IngestError(path, f"cannot read it: {exc.strerror}") from exc
    if path.is_dir():
        raise IngestError(path, "is a directory; pass the files inside it")
    if not path.is_file():
        raise IngestError(path, "is not a regular file")
    if stat.st_size == 0:
        raise IngestError(path, "the file is empty (0 bytes)")
    if stat.st_size > max_bytes:
        raise IngestError(
            path,
            f"the file is {stat.st_size:,} bytes, over the {max_bytes:,}-byte limit "
            "(raise ingest.max_file_bytes to allow it)",
        )
    return stat.st_size


def content_hash(path: Path) -> str:
    """sha256 of the file's bytes, read in blocks (the document's identity)."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise IngestError(path, f"cannot read it: {exc.strerror}") from exc
    return digest.hexdigest()


def read_segments(
    path: Path,
    kind: DocumentKind,
    *,
    transcription: TranscriptionConfig | None = None,
    progress: Callable[[float, float], None] | None = None,
) -> list[Segment]:
    """Run the loader for ``kind``.

    Args:
        path: The file.
        kind: From :func:`kind_of`.
        transcription: Whisper settings for audio/video (the defaults when ``None``);
            whisper and torch are imported only when a recording is read.
        progress: Called as ``progress(seconds_done, seconds_total)`` while a recording
            is transcribed.

    Raises:
        IngestError: The loader rejected the file.
    """
    try:
        if kind == "pdf":  # pypdf and its crypto stack load only when a PDF is read
            from contextual_avatar.ingest._pdf import load_pdf

            return load_pdf(path)
        if kind == "text":
            return load_text(path)
        if kind == "subtitles":
            if path.suffix.lower() == ".stm":
                from contextual_avatar.ingest._stm import load_stm

                return load_stm(path)
            return load_subtitles(path)
        from contextual_avatar.ingest._transcribe import load_media

        return load_media(path, config=transcription or TranscriptionConfig(), progress=progress)
    except OSError as exc:
        raise IngestError(path, f"cannot read it: {exc.strerror or exc}") from exc
    except MemoryError as exc:
        raise IngestError(path, "the file expands to more data than fits in memory") from exc
