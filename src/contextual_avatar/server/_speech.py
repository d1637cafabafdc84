"""Spoken text: an answer without its ``[1]`` citation markers.

An avatar reads its answer aloud, so the markers a model writes to cite its sources must
not reach the text-to-speech; the citations travel beside the text instead. When an
answer streams, a marker can arrive split over deltas (``"[", "1]"``), so
:class:`MarkerFilter` holds back only what could still become one.
"""

from __future__ import annotations

import re

__all__ = ["MarkerFilter", "strip_markers"]

# A marker with the blanks before it: "9 euros [1, 2]." -> "9 euros."
_MARKER = re.compile(r"\s*\[\d{1,3}(?:\s*,\s*\d{1,3})*\]")
# What may still grow into a marker at the end of the text seen so far.
_OPEN_TAIL = re.compile(r"\s*(?:\[[\d\s,]{0,24})?$")


def strip_markers(text: str) -> str:
    """``text`` without citation markers (and the blanks before them).

    Repeated until none is left: removing ``[1]`` from ``[[1]2]`` makes another.
    """
    while True:
        stripped = _MARKER.sub("", text)
        if stripped == text:
            return text
        text = stripped


class MarkerFilter:
    """Strips markers from a stream of deltas; the joined output equals :func:`strip_markers`."""

    __slots__ = ("_held",)

    def __init__(self) -> None:
        self._held = ""

    def feed(self, delta: str) -> str:
        """The part of ``delta`` (with anything held before) that is safe to speak now."""
        text = strip_markers(self._held + delta)
        tail = _OPEN_TAIL.search(text)
        cut = tail.start() if tail is not None else len(text)
        self._held = text[cut:]
        return text[:cut]

    def flush(self) -> str:
        """What is still held once the stream has ended."""
        text, self._held = self._held, ""
        return strip_markers(text)
