"""Read NIST segment time mark (``.stm``) transcripts into timestamped segments.

Each non-comment line is ``waveform channel speaker begin end [<label>] transcript``
(times in seconds), as used by NIST sclite, TED-LIUM and many ASR corpora. Speakers are
kept in ``SourceRef.speaker``; the scoring-only lines (``ignore_time_segment_in_scoring``,
``inter_segment_gap`` and ``excluded_region`` speakers) and markup such as ``<unk>`` or
``(%HESITATION)`` are dropped.
"""

from __future__ import annotations

import re
from pathlib import Path

from contextual_avatar.errors import IngestError
from contextual_avatar.types import Segment, SourceRef

__all__ = ["STM_SUFFIXES", "load_stm", "parse_stm"]

#: File suffixes the ingest dispatch routes to :func:`load_stm`.
STM_SUFFIXES: frozenset[str] = frozenset({".stm"})

_SKIP_SPEAKERS = frozenset({"inter_segment_gap", "excluded_region"})
_SKIP_TEXT = "ignore_time_segment_in_scoring"
_MARKUP = re.compile(r"<[^<>\s]*>|\(%[^()]*\)|\{[^{}]*\}")
_SPACES = re.compile(r"\s+")


def _clean(text: str) -> str:
    return _SPACES.sub(" ", _MARKUP.sub(" ", text)).strip()


def parse_stm(text: str, *, source: str, path: Path | None = None) -> list[Segment]:
    """Parse STM text.

    Args:
        text: The file's content.
        source: Display name for the citations.
        path: The file, for error messages (defaults to ``source``).

    Returns:
        Segments in file order, with time range and speaker.

    Raises:
        IngestError: A line is malformed (the message gives its number) or no line
            holds any speech.
    """
    where = path if path is not None else Path(source)
    segments: list[Segment] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith(";;"):
            continue
        fields = stripped.split(maxsplit=5)
        if len(fields) < 5:
            raise IngestError(
                where,
                f"line {number} is not an STM line "
                "(expected: waveform channel speaker begin end [<label>] text)",
            )
        _, _, speaker, begin_text, end_text = fields[:5]
        rest = fields[5] if len(fields) > 5 else ""
        try:
            begin, end = float(begin_text), float(end_text)
        except ValueError as exc:
            raise IngestError(
                where, f"line {number}: begin/end times {begin_text!r} {end_text!r} are not numbers"
            ) from exc
        if not (0 <= begin <= end) or end == float("inf"):
            raise IngestError(where, f"line {number}: invalid time range {begin}-{end}")
        if rest.startswith("<"):
            label_end = rest.find(">")
            rest = rest[label_end + 1 :] if label_end >= 0 else ""
        if speaker in _SKIP_SPEAKERS or rest.strip() == _SKIP_TEXT:
            continue
        words = _clean(rest)
        if not words:
            continue
        segments.append(
            Segment(
                text=words, ref=SourceRef(source=source, start_s=begin, end_s=end, speaker=speaker)
            )
        )
    if not segments:
        raise IngestError(where, "the STM file holds no transcribed speech")
    return segments


def load_stm(path: Path) -> list[Segment]:
    """Read a NIST ``.stm`` transcript.

    Args:
        path: The file.

    Returns:
        Segments citing ``SourceRef(source=path.name, start_s=, end_s=, speaker=)``.

    Raises:
        IngestError: The file is missing, empty, not UTF-8 text, or malformed.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise IngestError(path, "the file does not exist") from exc
    except OSError as exc:
        raise IngestError(path, f"the file cannot be read ({exc.strerror})") from exc
    if not raw.strip():
        raise IngestError(path, "the file is empty")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IngestError(path, f"not UTF-8 text (byte {exc.start} is invalid)") from exc
    return parse_stm(text, source=path.name, path=path)
