"""Sentence vectors of context chunks, computed once per chunk text and kept (LRU, thread-safe).

Why: a session's cached chunks come back turn after turn, and many sessions share popular
chunks; embedding their sentences again every turn was most of the offline answerer's
cost. The key is a digest of the chunk's text, so an edited document's chunk is a new
entry and two chunks with equal text share one.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt
from cachetools import LRUCache

from contextual_avatar._text import split_sentences

__all__ = ["SentenceVectors"]

Vectors = npt.NDArray[np.float32]
EmbedFn = Callable[[Sequence[str]], Vectors]


class SentenceVectors:
    """Per chunk text: its sentence ranges and their vectors, embedded in one batch per miss.

    Safe to share between threads (the answerer runs in worker threads, and one engine
    serves many sessions at once): one lock guards the LRU map; embedding runs outside it.
    """

    def __init__(self, embed: EmbedFn, *, max_chunks: int = 2048) -> None:
        """Keep the sentence vectors of up to ``max_chunks`` chunk texts."""
        self._embed = embed
        self._lock = threading.Lock()
        self._cache: LRUCache[str, tuple[list[tuple[int, int]], Vectors]] = LRUCache(max_chunks)

    def __len__(self) -> int:
        with self._lock:
            return len(self._cache)

    @staticmethod
    def key(text: str) -> str:
        """The cache key of a chunk text (a digest: the text itself may be long)."""
        return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()

    def of(self, texts: Sequence[str]) -> list[tuple[list[tuple[int, int]], Vectors]]:
        """Sentence ranges and vectors of each text, in order; misses embedded in one call."""
        keys = [self.key(t) for t in texts]
        with self._lock:  # read hits first: inserting the misses may evict them
            found = {k: v for k in keys if (v := self._cache.get(k)) is not None}
        todo: dict[str, tuple[str, list[tuple[int, int]]]] = {}
        for k, text in zip(keys, texts, strict=True):
            if k not in found and k not in todo:
                todo[k] = (text, split_sentences(text))
        if todo:
            pieces = [text[a:b] for text, spans in todo.values() for a, b in spans]
            vectors = self._embed(pieces) if pieces else np.zeros((0, 0), dtype=np.float32)
            row = 0
            fresh = {}
            for k, (_, spans) in todo.items():
                fresh[k] = (spans, np.asarray(vectors[row : row + len(spans)], dtype=np.float32))
                row += len(spans)
            with self._lock:
                for k, entry in fresh.items():
                    self._cache[k] = entry
            found.update(fresh)
        return [found[k] for k in keys]
