"""The lexical index: Okapi BM25 over the chunks of the vector index, rows aligned.

Row ``i`` scores chunk ``i`` of the :class:`~contextual_avatar.retrieval.FaissIndex`, so
the two fuse without a lookup. Terms are those of :func:`~contextual_avatar._text.terms`;
the score is Lucene's BM25 (as ``bm25s`` computes it, which earlier releases used).

Why not ``bm25s`` any more: it stores each posting's *final* score, which depends on the
corpus size and mean length, so one added chunk means re-indexing all of them (about
1 s per 100,000 chunks, 10 s at a million) in every process that follows a live update.
Here the index keeps raw term counts in immutable *segments* (one per batch of added
chunks, each a term-major sparse matrix) plus exact integer document frequencies and
lengths, and scores at query time. Adding chunks (:meth:`BM25Index.with_chunks`) costs
the new chunks; removing rows (:meth:`BM25Index.without`) one pass over the postings;
both return a new index and never touch the old one, which turns in flight still search.
Scores do not depend on how the rows are split into segments (integer statistics; each
row gets one float addition per query term, in query order), so an index that followed
a chain of changes scores exactly like one built from scratch.

On disk the index lives inside the vector index's version directory (``lexical/``), so
one atomic ``CURRENT`` switch publishes both. ``lexical/meta.json`` records a fingerprint
of the chunk ids; when it does not match (an older ``bm25s`` layout, a crash between
versions) :meth:`BM25Index.load` rebuilds from the chunks instead of serving misaligned rows.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from contextual_avatar._text import terms
from contextual_avatar.errors import IndexCorruptError
from contextual_avatar.types import Chunk

__all__ = ["BM25Index"]

log = logging.getLogger(__name__)

LEXICAL_DIR = "lexical"
FORMAT_VERSION = 2  # 1: bm25s files (rebuilt on load)
DEFAULT_K1 = 1.2
DEFAULT_B = 0.75
# Segments kept before they are merged into one (a merge costs one pass over postings).
MAX_SEGMENTS = 8
Scores = npt.NDArray[np.float32]
Ints = npt.NDArray[np.int64]


def fingerprint(chunk_ids: Sequence[str]) -> str:
    """A hash of the chunk ids in row order: equal fingerprints mean aligned rows."""
    digest = hashlib.sha256()
    for cid in chunk_ids:
        digest.update(cid.encode("utf-8", "surrogatepass"))
        digest.update(b"\n")
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class _Segment:
    """Term counts of ``n`` consecutive rows, term-major: never changed once built."""

    n: int
    term_ids: Ints  # sorted, unique
    indptr: Ints  # postings of term_ids[i] are [indptr[i], indptr[i + 1])
    rows: Ints  # local row of each posting, ascending within a term
    tfs: npt.NDArray[np.float32]

    def postings(self, tid: int) -> tuple[Ints, npt.NDArray[np.float32]] | None:
        at = int(np.searchsorted(self.term_ids, tid))
        if at == len(self.term_ids) or self.term_ids[at] != tid:
            return None
        lo, hi = int(self.indptr[at]), int(self.indptr[at + 1])
        return self.rows[lo:hi], self.tfs[lo:hi]

    def term_of_posting(self) -> Ints:
        return np.repeat(self.term_ids, np.diff(self.indptr))


def _segment(tid: Ints, row: Ints, n: int) -> _Segment:
    """A segment from one (term id, local row) pair per occurrence."""
    key = np.unique(tid * max(n, 1) + row, return_counts=True)
    uniq, counts = key
    t, r = uniq // max(n, 1), uniq % max(n, 1)
    term_ids, starts = np.unique(t, return_index=True)
    indptr = np.append(starts, len(t)).astype(np.int64)
    return _Segment(n, term_ids.astype(np.int64), indptr, r, counts.astype(np.float32))


def _merge(segments: Sequence[_Segment]) -> _Segment:
    """One segment holding the rows of ``segments`` in order."""
    offsets = np.cumsum([0] + [s.n for s in segments])
    t = np.concatenate([s.term_of_posting() for s in segments] or [np.zeros(0, np.int64)])
    r = np.concatenate([s.rows + o for s, o in zip(segments, offsets, strict=False)] or [t])
    tf = np.concatenate([s.tfs for s in segments] or [np.zeros(0, np.float32)])
    order = np.argsort(t, kind="stable")  # rows stay ascending within each term
    t, r, tf = t[order], r[order], tf[order]
    term_ids, starts = np.unique(t, return_index=True)
    return _Segment(int(offsets[-1]), term_ids, np.append(starts, len(t)).astype(np.int64), r, tf)


class BM25Index:
    """BM25 scores for the chunks of one corpus, in the vector index's row order.

    :meth:`rebuild` replaces the contents in place (build aside, swap at once); the
    live-update path uses :meth:`with_chunks` / :meth:`without`, which return new indexes.
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
        self._vocab: dict[str, int] = {}
        self._df: Ints = np.zeros(0, np.int64)
        self._dl: Ints = np.zeros(0, np.int64)
        self._segments: tuple[_Segment, ...] = ()
        self._norm: npt.NDArray[np.float64] | None = None
        self._fingerprint: str | None = None

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def fingerprint(self) -> str:
        """The fingerprint of the chunk ids in row order (see :func:`fingerprint`)."""
        if self._fingerprint is None:
            self._fingerprint = fingerprint(self._ids)
        return self._fingerprint

    def rebuild(self, chunks: Sequence[Chunk]) -> None:
        """Index ``chunks`` (the whole corpus, in the vector index's row order)."""
        fresh = BM25Index(k1=self.k1, b=self.b).with_chunks(chunks)
        # Built aside: a search running meanwhile sees the old rows or the new ones.
        self._ids, self._vocab, self._df, self._dl = fresh._ids, fresh._vocab, fresh._df, fresh._dl
        self._segments, self._norm, self._fingerprint = fresh._segments, None, None

    def _derive(
        self, ids: list[str], dl: Ints, df: Ints, segments: tuple[_Segment, ...]
    ) -> BM25Index:
        out = BM25Index(k1=self.k1, b=self.b)
        out._ids, out._vocab, out._dl, out._df, out._segments = ids, self._vocab, dl, df, segments
        return out

    def with_chunks(self, chunks: Sequence[Chunk]) -> BM25Index:
        """A new index: these rows and then ``chunks`` (their terms are computed here)."""
        if not chunks:
            return self
        vocab = dict(self._vocab)
        tid: list[int] = []
        row: list[int] = []
        lengths = np.zeros(len(chunks), np.int64)
        for r, chunk in enumerate(chunks):
            found = terms(chunk.text)
            lengths[r] = len(found)
            for term in found:
                tid.append(vocab.setdefault(term, len(vocab)))
                row.append(r)
        seg = _segment(np.asarray(tid, np.int64), np.asarray(row, np.int64), len(chunks))
        df = np.zeros(len(vocab), np.int64)
        df[: len(self._df)] = self._df
        df[seg.term_ids] += np.diff(seg.indptr)
        segments = (*self._segments, seg)
        if len(segments) > MAX_SEGMENTS:  # merge the small recent ones, the big one if due
            head, tail = segments[0], segments[1:]
            small = sum(t.n for t in tail) * 4 < head.n
            segments = (head, _merge(tail)) if small else (_merge(segments),)
        out = self._derive(
            [*self._ids, *(c.id for c in chunks)], np.concatenate([self._dl, lengths]), df, segments
        )
        out._vocab = vocab
        return out

    def without(self, rows: Sequence[int]) -> BM25Index:
        """A new index without the given rows (later rows move up, as in the vector index)."""
        if not len(rows):
            return self
        keep = np.ones(len(self._ids), bool)
        keep[np.asarray(rows, np.int64)] = False
        df = self._df.copy()
        segments = []
        offset = 0
        for seg in self._segments:
            local = keep[offset : offset + seg.n]
            offset += seg.n
            if local.all():
                segments.append(seg)
                continue
            renumber = np.cumsum(local) - 1
            alive = local[seg.rows]
            terms_of = seg.term_of_posting()
            np.subtract.at(df, terms_of[~alive], 1)
            kept = terms_of[alive]  # still term-major; renumbered rows stay ascending
            term_ids, starts = np.unique(kept, return_index=True)
            indptr = np.append(starts, len(kept)).astype(np.int64)
            rows_left = renumber[seg.rows[alive]].astype(np.int64)
            segments.append(_Segment(int(local.sum()), term_ids, indptr, rows_left, seg.tfs[alive]))
        ids = [cid for cid, k in zip(self._ids, keep.tolist(), strict=True) if k]
        return self._derive(ids, self._dl[keep], df, tuple(segments))

    def scores(self, query_terms: Sequence[str]) -> Scores:
        """BM25 score of every row for the query terms (repeated terms count again)."""
        n = len(self._ids)
        out = np.zeros(n, dtype=np.float32)
        if not n:
            return out
        norm = self._norm
        if norm is None:
            avgdl = max(int(self._dl.sum()) / n, 1e-9)
            norm = self.k1 * ((1 - self.b) + self.b * self._dl.astype(np.float64) / avgdl)
            self._norm = norm
        for term in query_terms:
            tid = self._vocab.get(term)
            if tid is None or tid >= len(self._df) or not self._df[tid]:
                continue
            df = int(self._df[tid])
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            offset = 0
            for seg in self._segments:
                hit = seg.postings(tid)
                if hit is not None:
                    rows, tf = hit
                    rows = rows + offset
                    out[rows] += (idf * tf / (norm[rows] + tf)).astype(np.float32)
                offset += seg.n
        return out

    def salient(self, query_terms: Sequence[str], *, max_share: float) -> list[str]:
        """The terms held by at most ``max_share`` of the chunks (unknown terms included).

        Common words ("name", "first", "many") appear all over a corpus and say little
        about which passage a question is on; rare ones (names, places) do. The chunk
        cache's hit rule checks only these.
        """
        if not self._ids:
            return list(query_terms)
        limit = max_share * len(self._ids)
        out = []
        for term in query_terms:
            col = self._vocab.get(term)
            if col is None or col >= len(self._df) or self._df[col] <= limit:
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
        seg = _merge(self._segments)
        with (target / "postings.npz").open("wb") as fh:
            np.savez(fh, term_ids=seg.term_ids, indptr=seg.indptr, rows=seg.rows, tfs=seg.tfs,
                     dl=self._dl, df=self._df)  # fmt: skip
        vocab = sorted(self._vocab, key=self._vocab.__getitem__)
        (target / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), "utf-8")
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
            version_dir: The vector index's version directory (``None``: none yet).
            chunks: The chunks the saved index was built over, in row order.
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
        wanted = fingerprint(ids)
        fresh = (
            meta.get("format") == FORMAT_VERSION
            and meta.get("fingerprint") == wanted
            and meta.get("k1") == k1
            and meta.get("b") == b
        )
        if not fresh or not chunks or target is None:
            if chunks:
                log.info("building the lexical index over %d chunks", len(chunks))
            index.rebuild(chunks)
            return index
        try:
            with np.load(target / "postings.npz", allow_pickle=False) as data:
                seg = _Segment(
                    len(ids), data["term_ids"], data["indptr"], data["rows"], data["tfs"]
                )
                index._dl, index._df = data["dl"], data["df"]
            vocab = json.loads((target / "vocab.json").read_text(encoding="utf-8"))
        except (OSError, ValueError, KeyError) as exc:
            raise IndexCorruptError(f"cannot load the lexical index at {target}: {exc}") from exc
        index._ids, index._segments, index._fingerprint = ids, (seg,), wanted
        index._vocab = {term: i for i, term in enumerate(vocab)}
        return index


def _sync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
