"""Sentence vectors of context chunks, computed once per chunk text and kept (LRU, thread-safe).

Why: a session's cached chunks come back turn after turn, and many sessions share popular
chunks; embedding their sentences again every turn was most of the offline answerer's
cost. The key is a digest of the chunk's text, so an edited document's chunk is a new
entry and two chunks with equal text share one. With a :class:`SentenceStore`, misses are
read from disk sentence by sentence (ingest wrote them) before anything is embedded, and
what is embedded is written back, so one process's work serves every process on the
data folder.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt
from cachetools import LRUCache

from contextual_avatar._text import split_sentences
from contextual_avatar.routing._sentence_store import SentenceStore

__all__ = ["SentenceVectors"]

Vectors = npt.NDArray[np.float32]
Vector = npt.NDArray[np.float32]
EmbedFn = Callable[[Sequence[str]], Vectors]
Entry = tuple[list[tuple[int, int]], Vectors]


class SentenceVectors:
    """Per chunk text: its sentence ranges and their vectors, embedded in one batch per miss.

    Safe to share between threads (the answerer runs in worker threads, and one engine
    serves many sessions at once): one lock guards the LRU map; embedding runs outside it.
    """

    def __init__(
        self, embed: EmbedFn, *, max_chunks: int = 2048, store: SentenceStore | None = None
    ) -> None:
        """Keep the sentence vectors of up to ``max_chunks`` chunk texts (and in ``store``).

        ``store`` must hold vectors of the same embedder as ``embed`` (its ``model``).
        """
        self._embed = embed
        self._store = store
        self._lock = threading.Lock()
        self._cache: LRUCache[str, Entry] = LRUCache(max_chunks)

    def __len__(self) -> int:
        with self._lock:
            return len(self._cache)

    def __bool__(self) -> bool:
        """Always true: an empty cache is still a cache (``vectors or default`` keeps it)."""
        return True

    @staticmethod
    def key(text: str) -> str:
        """The cache key of a chunk text (a digest: the text itself may be long)."""
        return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()

    def of(self, texts: Sequence[str]) -> list[Entry]:
        """Sentence ranges and vectors of each text, in order; misses embedded in one call."""
        keys = [self.key(t) for t in texts]
        with self._lock:  # read hits first: inserting the misses may evict them
            found = {k: v for k in keys if (v := self._cache.get(k)) is not None}
        fresh = self._load({k: t for k, t in zip(keys, texts, strict=True) if k not in found})
        if fresh:
            with self._lock:
                for k, entry in fresh.items():
                    self._cache[k] = entry
            found.update(fresh)
        return [found[k] for k in keys]

    def warm(self, texts: Sequence[str]) -> int:
        """Put the sentence vectors of ``texts`` in the store (not in memory); count embedded.

        Ingest calls this for every new chunk, so answering processes find them on disk.
        """
        sentences = [text[a:b] for text in texts for a, b in split_sentences(text)]
        return self._vectors(sentences)[1]

    def _load(self, todo: dict[str, str]) -> dict[str, Entry]:
        """Entries of ``todo`` (key -> text), their sentences' vectors stored or embedded."""
        if not todo:
            return {}
        split = {k: (text, split_sentences(text)) for k, text in todo.items()}
        vectors, _ = self._vectors([text[a:b] for text, spans in split.values() for a, b in spans])
        dim = len(next(iter(vectors.values()))) if vectors else 0
        return {
            k: (
                spans,
                np.stack([vectors[text[a:b]] for a, b in spans])
                if spans
                else np.zeros((0, dim), dtype=np.float32),
            )
            for k, (text, spans) in split.items()
        }

    def _vectors(self, sentences: Sequence[str]) -> tuple[dict[str, Vector], int]:
        """Each sentence's vector, from the store or embedded in one call; and how many embedded.

        The store is keyed by sentence: a piece joining two chunks shares their sentences.
        """
        keys = {text: self.key(text) for text in sentences}
        stored = self._store.get(list(keys.values())) if self._store is not None else {}
        found = {text: stored[k] for text, k in keys.items() if k in stored}
        missing = [text for text in keys if text not in found]
        if missing:
            matrix = np.asarray(self._embed(missing), dtype=np.float32)
            fresh = dict(zip(missing, matrix, strict=True))
            if self._store is not None:
                self._store.put({keys[text]: v for text, v in fresh.items()})
            found.update(fresh)
        return found, len(missing)
