"""Plain text and Markdown files, and the text clean-up every loader shares."""

from __future__ import annotations

import logging
import re
import unicodedata
from pathlib import Path

from contextual_avatar.errors import IngestError
from contextual_avatar.types import Segment, SourceRef

__all__ = ["clean_text", "decode_bytes", "load_text"]

log = logging.getLogger(__name__)

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BLANK_RUN = re.compile(r"\n{3,}")
# C0 control bytes that never appear in text (tab, newlines, form feed and ESC excluded).
_BINARY_BYTES = frozenset(range(32)) - {9, 10, 12, 13, 27}


def clean_text(text: str) -> str:
    """Normalise text so tokenizers and databases accept every character.

    NFC-normalises, turns CRLF into LF, drops control characters (NUL and friends),
    and replaces lone surrogates, which no UTF-8 consumer accepts, with U+FFFD. Zero-width
    and right-to-left characters are kept: they carry meaning in some scripts.
    """
    text = text.encode("utf-8", "replace").decode("utf-8")
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _CONTROL.sub("", text)
    return _BLANK_RUN.sub("\n\n", text).strip()


def decode_bytes(data: bytes, path: Path) -> str:
    """Decode a text file: UTF-8 (with or without BOM), UTF-16 with BOM, else cp1252.

    Raises:
        IngestError: The bytes look binary (many NULs without a UTF-16 BOM).
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise IngestError(path, f"invalid UTF-16 text: {exc.reason}") from exc
    head = data[:65536]
    if sum(head.count(bytes([c])) for c in _BINARY_BYTES) > len(head) // 20:
        raise IngestError(path, "looks like a binary file, not text (too many control bytes)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Files pasted together from several sources mix encodings line by line: keep the
        # UTF-8 lines as they are and read only the others as Windows-1252.
        log.warning("%s is not valid UTF-8; reading its other lines as Windows-1252", path.name)
        return "".join(_decode_line(line) for line in data.splitlines(keepends=True))


def _decode_line(line: bytes) -> str:
    try:
        return line.decode("utf-8-sig")
    except UnicodeDecodeError:
        return line.decode("cp1252", errors="replace")


def load_text(path: Path) -> list[Segment]:
    """Read a ``.txt`` or ``.md`` file as one segment citing the file.

    Raises:
        IngestError: The file is binary or holds no text.
    """
    text = clean_text(decode_bytes(path.read_bytes(), path))
    if not text:
        raise IngestError(path, "the file holds no text")
    return [Segment(text=text, ref=SourceRef(source=path.name))]
