"""Citation markers out of the spoken text: ``"9 euros [1]."`` is said as ``"9 euros."``.

A model answering from numbered sources writes ``[1]`` or ``[1, 2]`` after a fact; the
citations travel beside the text (an ``Answer``'s ``citations``), so an avatar must not
read the brackets aloud. Text arrives in deltas and a marker can be split across them
(``"[", "1", "]"``), so :class:`SpokenText` holds back only what may still become a
marker (and the whitespace before it) until the next delta decides.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, AsyncIterator

__all__ = ["SpokenText", "speakable", "strip_citations"]

#: A citation marker and the whitespace before it: ``" [1]"``, ``"[2, 3]"``.
MARKER = re.compile(r"\s*\[\d{1,3}(?:\s*,\s*\d{1,3})*\]")
# What may still grow into a marker: an open bracket, digits, commas and spaces.
_OPEN = re.compile(r"\s*\[[\d,\s]{0,24}$|\s+$")


def strip_citations(text: str) -> str:
    """``text`` without its ``[n]`` citation markers (and the space before each)."""
    return MARKER.sub("", text)


class SpokenText:
    """Strips citation markers from streamed text, delta by delta.

    ``"".join(feed(d) for d in deltas) + flush()`` equals
    ``strip_citations("".join(deltas))`` however the text was split.
    """

    def __init__(self) -> None:
        """Start with nothing held back."""
        self._held = ""

    def feed(self, delta: str) -> str:
        """Take the next delta; return the text that can be spoken now."""
        text = self._held + delta
        tail = _OPEN.search(text)
        cut = tail.start() if tail is not None else len(text)
        ready, self._held = text[:cut], text[cut:]
        # A marker that ends exactly at ``cut`` may lose its leading space to the held
        # tail; the joined result is the same because markers never start mid-word.
        return strip_citations(ready)

    def flush(self) -> str:
        """The end of the text: whatever was held back, markers removed."""
        rest, self._held = self._held, ""
        return strip_citations(rest)


async def speakable(deltas: AsyncIterable[str]) -> AsyncIterator[str]:
    """Stream ``deltas`` with citation markers removed (for a TTS input)."""
    spoken = SpokenText()
    async for delta in deltas:
        if text := spoken.feed(delta):
            yield text
    if rest := spoken.flush():
        yield rest
