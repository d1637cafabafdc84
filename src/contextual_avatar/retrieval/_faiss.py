"""The vector index: FAISS inner-product search over unit vectors, saved atomically.

Rows of the vector matrix and the chunk list correspond one to one. On disk an index is
a version directory named by ``CURRENT`` (see ``_files.py``; changes may be published as
deltas, ``_journal.py``). Above a configurable size the FAISS index is approximate (see
``_ann.py``) and saved too (``dense.faiss``): rebuilding one takes minutes at a million
chunks. A version without it (exact, or older) is rebuilt from ``vectors.npy`` on load.

A document is its content: chunks and vectors are stored once per content hash. Its
names are the paths it was ingested from, one :class:`DocRecord` each, so the same bytes
under a second name are listed under both without being embedded twice. ``meta.json``
keeps the records as a list, in ingest order; several may share a ``doc_id``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import numpy.typing as npt

from contextual_avatar.errors import ConfigError, IndexCorruptError
from contextual_avatar.retrieval import _ann, _files
from contextual_avatar.retrieval._ann import DenseSpec, build_dense, can_grow, kind_of
from contextual_avatar.types import Chunk, ScoredChunk

__all__ = ["DocRecord", "FaissIndex"]

FORMAT_VERSION = 1
DENSE_FILE = "dense.faiss"
Vectors = npt.NDArray[np.float32]
#: One recorded change: ``("add", chunks, vectors)``, ``("remove", doc_id, rows)`` or
#: ``("rename", doc_id, old name, new name)`` (see ``_journal.py``).
Op = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class DocRecord:
    """One name of a document in the index: a path its content was ingested from.

    Parameters:
        doc_id: Content hash; records of the same bytes under other paths share it
            (and its chunks).
        path: The resolved path it was ingested from.
        name: The path's base name. Citations name the earliest recorded name of the
            content (see :meth:`FaissIndex.remove_path`).
        kind: Loader family.
        chunks: Number of chunks of the content (shared, not per name).
        ingested_at: Unix time this name was recorded.
    """

    doc_id: str
    path: str
    name: str
    kind: str
    chunks: int
    ingested_at: float


class FaissIndex:
    """Cosine search (exact, or approximate when large) with chunk metadata and records.

    Not thread-safe for writes; the engine serialises :meth:`add` / :meth:`add_name` /
    :meth:`remove_path` / :meth:`remove_doc` / :meth:`save` and may search concurrently
    between them.
    """

    def __init__(self, *, dim: int, embedder: str, spec: DenseSpec | None = None) -> None:
        """Create an empty index.

        Args:
            dim: Vector dimension.
            embedder: Name of the embedder that made the vectors (checked on load).
            spec: Which FAISS index serves at which size (default: exact up to 50k
                chunks, then IVF).
        """
        self.dim = dim
        self.embedder = embedder
        self.spec = spec or DenseSpec()
        self._chunks: list[Chunk] = []
        self._row_of: dict[str, int] = {}
        self._vectors: Vectors = np.zeros((0, dim), dtype=np.float32)
        self._records: dict[str, DocRecord] = {}  # by path, in ingest order
        self._faiss: Any = faiss.IndexFlatIP(dim)
        self._shared = False  # _faiss belongs to the index this one was forked from
        #: The changes made since :meth:`fork`, for publishing them as a delta.
        self.journal: list[Op] | None = None
        #: Whether a change rebuilt an approximate index (its result is not reproducible).
        self.dense_rebuilt = False

    def fork(self) -> FaissIndex:
        """A copy to change that records its changes; this index is left untouched.

        Costs a copy of the chunk list and id map; vectors and the FAISS index are
        shared until a change needs its own (never changed in place).
        """
        twin = FaissIndex(dim=self.dim, embedder=self.embedder, spec=self.spec)
        twin._chunks, twin._row_of = list(self._chunks), dict(self._row_of)
        twin._vectors, twin._records = self._vectors, dict(self._records)
        twin._faiss, twin._shared, twin.journal = self._faiss, True, []
        return twin

    def __len__(self) -> int:
        return len(self._chunks)

    @property
    def docs(self) -> dict[str, DocRecord]:
        """Documents by content hash, each as its earliest name (the one citations use)."""
        first: dict[str, DocRecord] = {}
        for record in self._records.values():
            first.setdefault(record.doc_id, record)
        return first

    @property
    def records(self) -> list[DocRecord]:
        """Every name of every document, one record per path, in ingest order."""
        return list(self._records.values())

    def has_doc(self, doc_id: str) -> bool:
        """Whether a document with this content hash is indexed."""
        return any(r.doc_id == doc_id for r in self._records.values())

    def doc_by_path(self, path: str) -> DocRecord | None:
        """The document last ingested from ``path``, if any."""
        return self._records.get(path)

    def add(self, chunks: Sequence[Chunk], vectors: Vectors, doc: DocRecord) -> None:
        """Add a document's chunks and their vectors.

        Raises:
            ValueError: Shapes disagree, the document is already present or its path
                already names a document (remove that first).
        """
        if vectors.shape != (len(chunks), self.dim):
            raise ValueError(
                f"expected vectors of shape {(len(chunks), self.dim)}, got {vectors.shape}"
            )
        if self.has_doc(doc.doc_id):
            raise ValueError(f"document {doc.doc_id} is already indexed")
        if doc.path in self._records:
            raise ValueError(f"{doc.path} already names a document")
        self.append(chunks, vectors)
        self._records[doc.path] = doc

    def append(self, chunks: Sequence[Chunk], vectors: Vectors) -> None:
        """Add rows without a record (:meth:`add` checks; replaying a delta needs none)."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, self.dim)
        base = len(self._chunks)
        self._chunks.extend(chunks)
        self._row_of.update((c.id, base + i) for i, c in enumerate(chunks))
        self._vectors = np.vstack([self._vectors, vectors])
        if self.journal is not None:
            self.journal.append(("add", list(chunks), vectors))
        if can_grow(self._faiss, self.spec, len(self._chunks)):
            if self._shared:
                self._faiss, self._shared = faiss.clone_index(self._faiss), False
                _ann.tune(self._faiss, self.spec)
            self._faiss.add(vectors)
        else:  # the kind changes at this size (or IVF outgrew its lists): build anew
            self._faiss, self._shared = build_dense(self._vectors, self.spec, dim=self.dim), False
            self.dense_rebuilt |= self.dense_kind != "flat"

    def add_name(self, doc: DocRecord) -> None:
        """Record another path of an indexed document; its chunks are shared, not copied.

        Raises:
            ValueError: The document is not indexed, or the path already names one.
        """
        if not self.has_doc(doc.doc_id):
            raise ValueError(f"document {doc.doc_id} is not indexed")
        if doc.path in self._records:
            raise ValueError(f"{doc.path} already names a document")
        self._records[doc.path] = doc

    def remove_path(self, path: str) -> None:
        """Forget the name ``path``; its document goes too when no other name is left.

        When the name the chunks cite goes and others remain, the chunks are relabelled
        with the next earliest name, so citations name a file that still holds the text.
        """
        record = self._records.get(path)
        if record is None:
            return
        cited = self.docs[record.doc_id]
        del self._records[path]
        heir = self.docs.get(record.doc_id)
        if heir is None:
            self.remove_doc(record.doc_id)
        elif cited is record and heir.name != record.name:
            self._rename(record.doc_id, record.name, heir.name)

    def remove_doc(self, doc_id: str) -> None:
        """Drop a document, every name of it and its chunks (rebuilds the FAISS index)."""
        self._records = {p: r for p, r in self._records.items() if r.doc_id != doc_id}
        keep = [i for i, c in enumerate(self._chunks) if c.doc_id != doc_id]
        if len(keep) < len(self._chunks):
            if self.journal is not None:
                gone = sorted(set(range(len(self._chunks))) - set(keep))
                self.journal.append(("remove", doc_id, gone))
            self._rebuild([self._chunks[i] for i in keep], self._vectors[keep])

    def _rename(self, doc_id: str, old: str, new: str) -> None:
        def relabel(chunk: Chunk) -> Chunk:
            spans = tuple(
                replace(s, ref=replace(s.ref, source=new)) if s.ref.source == old else s
                for s in chunk.spans
            )
            return replace(chunk, spans=spans)

        if self.journal is not None:
            self.journal.append(("rename", doc_id, old, new))
        # A new list, as _rebuild makes: readers holding the old one see a consistent copy.
        self._chunks = [relabel(c) if c.doc_id == doc_id else c for c in self._chunks]

    def _rebuild(self, chunks: list[Chunk], vectors: Vectors, dense: Any = None) -> None:
        """Replace the contents; ``dense`` is a FAISS index already holding ``vectors``."""
        self._chunks = chunks
        self._row_of = {c.id: i for i, c in enumerate(chunks)}
        self._vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, self.dim)
        if dense is None or not _ann.fits(dense, self.spec, len(chunks)):
            dense = build_dense(self._vectors, self.spec, dim=self.dim)
            self.dense_rebuilt |= kind_of(dense) != "flat"
        _ann.tune(dense, self.spec)
        self._faiss, self._shared = dense, False

    @property
    def dense_kind(self) -> str:
        """The FAISS index serving now: ``"flat"`` (exact), ``"hnsw"`` or ``"ivf"``."""
        return kind_of(self._faiss)

    def search(self, queries: Vectors, k: int) -> list[ScoredChunk]:
        """The ``k`` chunks most similar to any of the query vectors, best first.

        Args:
            queries: One vector ``(dim,)`` or several ``(m, dim)``; with several, a chunk
                scores its best similarity to any of them (e.g. the question alone and the
                question with its conversation).
            k: Chunks to return.
        """
        if not self._chunks or k <= 0:
            return []
        query = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.dim)
        best: dict[int, float] = {}
        # One query per call: FAISS's multi-query path spreads tiny searches over OpenMP
        # threads, which costs ~15 ms next to torch's threads; one at a time is ~0.2 ms.
        for one in query:
            scores, rows = self._faiss.search(one[None, :], min(k, len(self._chunks)))
            for row, score in zip(rows.ravel().tolist(), scores.ravel().tolist(), strict=True):
                if row >= 0 and score > best.get(row, -np.inf):
                    best[row] = score
        ranked = sorted(best.items(), key=lambda item: (-item[1], item[0]))[:k]
        return [ScoredChunk(self._chunks[row], float(score)) for row, score in ranked]

    @property
    def chunks(self) -> Sequence[Chunk]:
        """All chunks in row order (row ``i`` is vector ``i``); do not mutate."""
        return self._chunks

    def row(self, chunk_id: str) -> int | None:
        """The row of a chunk, if indexed."""
        return self._row_of.get(chunk_id)

    def similarities(self, rows: Sequence[int], queries: Vectors) -> npt.NDArray[np.float32]:
        """Cosine of each given row to its best-matching query vector, in ``rows`` order."""
        if not len(rows):
            return np.zeros(0, dtype=np.float32)
        query = np.asarray(queries, dtype=np.float32).reshape(-1, self.dim)
        out: npt.NDArray[np.float32] = (self._vectors[list(rows)] @ query.T).max(axis=1)
        return out

    def chunk(self, chunk_id: str) -> Chunk | None:
        """A chunk by id."""
        row = self._row_of.get(chunk_id)
        return None if row is None else self._chunks[row]

    def vectors_for(self, chunk_ids: Iterable[str]) -> Vectors:
        """Stored vectors of the given chunks, in order."""
        rows = [self._row_of[c] for c in chunk_ids]
        return self._vectors[rows]

    # -- persistence -------------------------------------------------------------------

    def save(
        self,
        directory: Path,
        *,
        extra: Callable[[Path], None] | None = None,
        meta_extra: dict[str, Any] | None = None,
    ) -> None:
        """Write a new version under ``directory`` and switch ``CURRENT`` to it atomically.

        Args:
            directory: The index directory.
            extra: Writes companion files (e.g. the lexical index) into the new version
                directory before it is published, so they switch with the vectors.
            meta_extra: More ``meta.json`` keys (the version chain, see ``_journal.py``).
        """
        target = _files.new_version(directory)
        _files.write_rows(target, self._chunks, self._vectors)
        meta = {
            "format": FORMAT_VERSION,
            "dim": self.dim,
            "embedder": self.embedder,
            "dense": self.dense_kind,
            "docs": [asdict(d) for d in self._records.values()],
            "rows": len(self._chunks),
            **(meta_extra or {}),
        }
        if self.dense_kind != "flat":  # an exact index is rebuilt from the vectors in ms
            _ann.write_dense(self._faiss, target / DENSE_FILE)
        with (target / "meta.json").open("w", encoding="utf-8") as fh:
            json.dump(meta, fh, ensure_ascii=False)
            _files.sync(fh)
        if extra is not None:
            extra(target)
        _files.sync_dir(target)
        _files.switch(directory, target.name)

    @staticmethod
    def current_version(directory: Path) -> Path | None:
        """The published version directory under ``directory``, or ``None`` before any save."""
        pointer = directory / "CURRENT"
        if not pointer.exists():
            return None
        return directory / pointer.read_text(encoding="utf-8").strip()

    @staticmethod
    def read_records(directory: Path) -> tuple[list[DocRecord], str]:
        """The published version's document records and embedder name, from its metadata.

        Reads no vectors and loads no model: for tools that list what an index holds.
        An index never published gives ``([], "")``.

        Raises:
            IndexCorruptError: The metadata cannot be read.
        """
        target = FaissIndex.current_version(directory)
        if target is None:
            return [], ""
        meta = _files.read_meta(target)
        try:
            return [DocRecord(**d) for d in meta.get("docs", [])], str(meta.get("embedder", ""))
        except TypeError as exc:
            raise IndexCorruptError(f"cannot load the index at {target}: {exc}") from exc

    @classmethod
    def load(
        cls,
        directory: Path,
        *,
        dim: int,
        embedder: str,
        spec: DenseSpec | None = None,
    ) -> FaissIndex:
        """Load the current version's base from ``directory`` (empty if there is none).

        A version published as a delta is its base plus the deltas' changes: this reads
        the base's rows only; :func:`~contextual_avatar.retrieval._journal.load_index`
        (and the corpus) replay the deltas, so this module never imports the journal.

        A saved approximate index is reused when it still fits ``spec``; otherwise (an
        exact or older version, other settings) the FAISS index is rebuilt from the vectors.

        Raises:
            IndexCorruptError: The files exist but cannot be read.
            ConfigError: The index was built with another embedder.
        """
        index = cls(dim=dim, embedder=embedder, spec=spec)
        pointer = directory / "CURRENT"
        if not pointer.exists():
            return index
        target = directory / pointer.read_text(encoding="utf-8").strip()
        meta = _files.read_meta(target)
        if meta.get("embedder") != embedder or int(meta.get("dim", -1)) != dim:
            raise ConfigError(
                f"the index at {directory} was built with embedder {meta.get('embedder')!r} "
                f"(dim {meta.get('dim')}), not {embedder!r} (dim {dim}); use another data_dir "
                "or re-ingest"
            )
        chunks, vectors = _files.read_rows(target, dim)
        index._rebuild(chunks, vectors, _ann.read_dense(target / DENSE_FILE))
        index.set_records(meta)
        return index

    def set_records(self, meta: dict[str, Any]) -> None:
        """Take the records of a version's ``meta.json`` (raises IndexCorruptError)."""
        try:  # one record per path; older files have one per doc_id
            self._records = {d["path"]: DocRecord(**d) for d in meta.get("docs", [])}
        except (TypeError, KeyError) as exc:
            raise IndexCorruptError(f"malformed document records: {exc}") from exc
