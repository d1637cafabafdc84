"""The lexical index: Okapi BM25 over the chunks of the vector index, rows aligned.

Built with ``bm25s`` (sparse matrices, numpy only) on the terms of
:func:`~contextual_avatar._text.terms`. Row ``i`` scores chunk ``i`` of the
:class:`~contextual_avatar.retrieval.FaissIndex`, so the two fuse without a lookup.
``bm25s`` cannot add documents to a built index, so :meth:`BM25Index.rebuild` re-indexes
the whole chunk list (terms are cached per chunk; about 0.1 s per 10,000 chunks).

On disk the index lives inside the vector index's version directory (see
:meth:`FaissIndex.save`'s ``extra``), so one atomic ``CURRENT`` switch publishes both.
A ``lexical/meta.json`` records a fingerprint of the chunk ids; when it does not match the
vector index (an older layout, a crash between versions) :meth:`BM25Index.load` rebuilds
from the chunks instead of serving misaligned rows.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from contextual_avatar._text import terms
from contextual_avatar.errors import IndexCorruptError, MissingDependencyError
from contextual_avatar.types import Chunk

__all__ = ["BM25Index"]

log = logging.getLogger(__name__)

LEXICAL_DIR = "lexical"
FORMAT_VERSION = 1
DEFAULT_K1 = 1.2
DEFAULT_B = 0.75
Scores = npt.NDArray[np.float32]


def _bm25s() -> Any:
    try:
        import bm25s  # type: ignore[import-untyped]
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise MissingDependencyError("lexical retrieval", "core", "bm25s") from exc
    # bm25s sets its logger to DEBUG on import; keep its chatter out of users' logs.
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


def fingerprint(chunk_ids: Sequence[str]) -> str:
    """A hash of the chunk ids in row order: equal fingerprints mean aligned rows."""
    digest = hashlib.sha256()
    for cid in chunk_ids:
        digest.update(cid.encode("utf-8", "surrogatepass"))
        digest.update(b"\n")
    return digest.hexdigest()


class BM25Index:
    """BM25 scores for the chunks of one corpus, in the vector index's row order.

    Not thread-safe for writes; like the vector index, the engine serialises
    :meth:`rebuild` and :meth:`save` and may search between them.
    """

    def __init__(self, *, k1: float = DEFAULT_K1, b: float = DEFAULT_B) -> None:
        """Create an empty index.

        Args:
            k1: Term-frequency saturation.
            b: Length normalisation (0: none, 1: full).
        """
        self.k1 = k1
        self.b = b
        self._ids: list[str] = []
        self._terms: dict[str, list[str]] = {}
        self._model: Any = None
        self._vocab: dict[str, int] = {}
        self._df: npt.NDArray[np.int64] | None = None
        self.fingerprint = fingerprint([])

    def __len__(self) -> int:
        return len(self._ids)

    def rebuild(self, chunks: Sequence[Chunk]) -> None:
        """Index ``chunks`` (the whole corpus, in the vector index's row order)."""
        # Build aside, then swap in one step: a search running meanwhile sees the old
        # index or the new one, never a mix.
        cache = self._terms
        new_terms = {c.id: cache.get(c.id) or terms(c.text) for c in chunks}
        ids = [c.id for c in chunks]
        model: Any = None
        vocab: dict[str, int] = {}
        if chunks:
            model = _bm25s().BM25(k1=self.k1, b=self.b)
            model.index([new_terms[cid] for cid in ids], show_progress=False)
            vocab = dict(model.vocab_dict)
        self._terms, self._ids, self.fingerprint = new_terms, ids, fingerprint(ids)
        self._model, self._vocab, self._df = model, vocab, None

    def scores(self, query_terms: Sequence[str]) -> Scores:
        """BM25 score of every row for the query terms (repeated terms count again)."""
        known = [t for t in query_terms if t in self._vocab]
        if self._model is None or not known:
            return np.zeros(len(self._ids), dtype=np.float32)
        return np.asarray(self._model.get_scores(known), dtype=np.float32)

    def salient(self, query_terms: Sequence[str], *, max_share: float) -> list[str]:
        """The terms held by at most ``max_share`` of the chunks (unknown terms included).

        Common words ("name", "first", "many") appear all over a corpus and say little
        about which passage a question is on; rare ones (names, places) do. The chunk
        cache's hit rule checks only these.
        """
        if self._model is None or not self._ids:
            return list(query_terms)
        df = self._df
        if df is None:
            df = self._df = np.diff(np.asarray(self._model.scores["indptr"]))
        limit = max_share * len(self._ids)
        out = []
        for term in query_terms:
            col = self._vocab.get(term)
            if col is None or col >= len(df) or df[col] <= limit:
                out.append(term)
        return out

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """The ``k`` best rows for ``query`` with positive scores, as ``(row, score)``."""
        scores = self.scores(terms(query))
        if k <= 0 or not len(scores):
            return []
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        ranked = sorted(top.tolist(), key=lambda r: (-float(scores[r]), r))
        return [(r, float(scores[r])) for r in ranked if scores[r] > 0]

    # -- persistence -------------------------------------------------------------------

    def save(self, version_dir: Path) -> None:
        """Write the index into ``version_dir/lexical`` (files synced, not yet published)."""
        target = version_dir / LEXICAL_DIR
        target.mkdir(parents=True, exist_ok=True)
        if self._model is not None:
            self._model.save(str(target), show_progress=False)
        meta = {
            "format": FORMAT_VERSION,
            "fingerprint": self.fingerprint,
            "rows": len(self._ids),
            "k1": self.k1,
            "b": self.b,
        }
        (target / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
        for path in target.iterdir():
            _sync_file(path)

    @classmethod
    def load(
        cls,
        version_dir: Path | None,
        chunks: Sequence[Chunk],
        *,
        k1: float = DEFAULT_K1,
        b: float = DEFAULT_B,
    ) -> BM25Index:
        """Load the index saved beside ``chunks``, or rebuild it when absent or stale.

        Args:
            version_dir: The vector index's current version directory (``None``: none yet).
            chunks: The vector index's chunks in row order.
            k1: Term-frequency saturation (a saved index with another value is rebuilt).
            b: Length normalisation (likewise).

        Raises:
            IndexCorruptError: The saved files match the chunks but cannot be read.
        """
        index = cls(k1=k1, b=b)
        target = None if version_dir is None else version_dir / LEXICAL_DIR
        meta: dict[str, Any] = {}
        if target is not None and (target / "meta.json").exists():
            try:
                meta = json.loads((target / "meta.json").read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                log.warning("rebuilding the lexical index: unreadable meta (%s)", exc)
        ids = [c.id for c in chunks]
        fresh = (
            meta.get("format") == FORMAT_VERSION
            and meta.get("fingerprint") == fingerprint(ids)
            and meta.get("k1") == k1
            and meta.get("b") == b
        )
        if not fresh or not chunks or target is None:
            if chunks:
                log.info("building the lexical index over %d chunks", len(chunks))
            index.rebuild(chunks)
            return index
        try:
            model = _bm25s().BM25.load(str(target), show_progress=False, verbosity=0)
        except (OSError, ValueError, KeyError) as exc:
            raise IndexCorruptError(f"cannot load the lexical index at {target}: {exc}") from exc
        index._ids = ids
        index.fingerprint = meta["fingerprint"]
        index._model, index._vocab, index._df = model, dict(model.vocab_dict), None
        return index


def _sync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
