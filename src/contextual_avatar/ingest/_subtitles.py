"""Timed transcripts: SubRip (``.srt``) and WebVTT (``.vtt``), one segment per cue.

Each cue keeps its start and end time, and a WebVTT voice tag (``<v Alice>``) becomes
the citation's speaker.
"""

from __future__ import annotations

import re
from pathlib import Path

from contextual_avatar.errors import IngestError
from contextual_avatar.ingest._text import clean_text, decode_bytes
from contextual_avatar.types import Segment, SourceRef

__all__ = ["load_subtitles", "parse_timestamp"]

_TIMING = re.compile(
    r"(?P<start>(?:\d+:)?\d{1,2}:\d{2}[.,]\d{1,3})\s*-->\s*(?P<end>(?:\d+:)?\d{1,2}:\d{2}[.,]\d{1,3})"
)
_VOICE = re.compile(r"<v(?:\.[^\s>]*)?\s+([^>]+)>")
_TAG = re.compile(r"</?[^>]+>")


def parse_timestamp(stamp: str) -> float:
    """Seconds from ``HH:MM:SS,mmm``, ``HH:MM:SS.mmm`` or ``MM:SS.mmm``."""
    fields = stamp.replace(",", ".").split(":")
    seconds = float(fields[-1])
    minutes = int(fields[-2]) if len(fields) >= 2 else 0
    hours = int(fields[-3]) if len(fields) >= 3 else 0
    return hours * 3600 + minutes * 60 + seconds


def load_subtitles(path: Path) -> list[Segment]:
    """Read cues from an ``.srt`` or ``.vtt`` file.

    Raises:
        IngestError: The file has no timed cue with text, or a cue ends before it starts.
    """
    text = decode_bytes(path.read_bytes(), path).replace("\r\n", "\n").replace("\r", "\n")
    segments: list[Segment] = []
    for block in re.split(r"\n\s*\n", text):
        lines = block.strip().split("\n")
        timing_at = next((i for i, line in enumerate(lines) if _TIMING.search(line)), None)
        if timing_at is None:
            continue  # WEBVTT header, NOTE or STYLE block, or a stray line
        match = _TIMING.search(lines[timing_at])
        assert match is not None
        start, end = parse_timestamp(match["start"]), parse_timestamp(match["end"])
        if end < start:
            raise IngestError(path, f"a cue ends before it starts: {lines[timing_at].strip()!r}")
        raw = " ".join(lines[timing_at + 1 :])
        voice = _VOICE.search(raw)
        speaker = clean_text(voice.group(1)) if voice else None
        cue = clean_text(_TAG.sub("", raw))
        if cue:
            ref = SourceRef(source=path.name, start_s=start, end_s=end, speaker=speaker or None)
            segments.append(Segment(text=cue, ref=ref))
    if not segments:
        raise IngestError(path, "no timed cue with text found (is it really SRT/WebVTT?)")
    return segments
