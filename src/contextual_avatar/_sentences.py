"""Sentence boundaries, shared by the chunker and the extractive answerer.

Text from PDFs breaks lines mid-sentence, so a single line break only ends a sentence
after a short line (a heading, a list item); a blank line always does, and so does
terminal punctuation followed by whitespace.
"""

from __future__ import annotations

import itertools
import re

__all__ = ["sentence_boundaries", "split_sentences"]

_PUNCT = re.compile(r"[.!?…。！？][\"'”’)\]]*(?=\s)")
_NEWLINE = re.compile(r"\n")
_WORD = re.compile(r"\w")
SHORT_LINE = 50


def sentence_boundaries(text: str) -> list[int]:
    """Sorted character offsets where a new sentence may start (excluding 0 and the end)."""
    out = {m.end() for m in _PUNCT.finditer(text)}
    for m in _NEWLINE.finditer(text):
        line_start = text.rfind("\n", 0, m.start()) + 1
        line = text[line_start : m.start()].strip()
        if len(line) < SHORT_LINE or text.startswith("\n", m.end()):
            out.add(m.start())
    return sorted(b for b in out if 0 < b < len(text))


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Character ranges ``[start, end)`` of the sentences in ``text``, whitespace trimmed."""
    out: list[tuple[int, int]] = []
    cuts = [0, *sentence_boundaries(text), len(text)]
    for a, b in itertools.pairwise(cuts):
        piece = text[a:b]
        start = a + len(piece) - len(piece.lstrip())
        stop = a + len(piece.rstrip())
        if stop > start and _WORD.search(text, start, stop):
            out.append((start, stop))
    return out
