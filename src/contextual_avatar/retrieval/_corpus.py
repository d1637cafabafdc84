"""The corpus: the vector index, its BM25 twin and the default retriever, as one unit.

They are loaded, changed and published together (an ingest replaces a document in both
and switches the on-disk version in one step), so one object owns them. It is also the
default :class:`~contextual_avatar.retrieval.Retriever` (it searches through whichever
version is current) and the place other parts look chunks and their vectors up by id.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from contextual_avatar.retrieval._bm25 import BM25Index
from contextual_avatar.retrieval._config import RetrievalConfig
from contextual_avatar.retrieval._factory import build_retriever
from contextual_avatar.retrieval._faiss import DocRecord, FaissIndex
from contextual_avatar.retrieval._retriever import Retriever
from contextual_avatar.retrieval._state import ConversationState
from contextual_avatar.types import Chunk, ScoredChunk

__all__ = ["Corpus"]

Vectors = npt.NDArray[np.float32]


class Corpus:
    """Indexed chunks on disk and in memory: search, look up by id, replace a document.

    Not thread-safe for writes: callers serialise :meth:`add_document` and :meth:`publish`
    (the engine holds a lock); searches and lookups may run between writes.
    """

    def __init__(
        self, directory: Path, config: RetrievalConfig, *, dim: int, embedder: str
    ) -> None:
        """Load the published version under ``directory`` (an empty corpus if none).

        Raises:
            ConfigError: The index was built with another embedder.
            IndexCorruptError: The persisted index cannot be read.
        """
        self.directory = directory
        self._config = config
        self._dim = dim
        self._embedder = embedder
        self.reload()

    def reload(self) -> None:
        """(Re)load the vector index, its BM25 twin and the retriever from disk."""
        cfg = self._config
        self.index = FaissIndex.load(self.directory, dim=self._dim, embedder=self._embedder)
        self.lexical = BM25Index.load(
            FaissIndex.current_version(self.directory),
            self.index.chunks,
            k1=cfg.bm25_k1,
            b=cfg.bm25_b,
        )
        self._retriever: Retriever = build_retriever(cfg, self.index, self.lexical)

    @property
    def documents(self) -> list[DocRecord]:
        """Every indexed name, in ingest order.

        The same content under two paths is two records sharing a ``doc_id`` and its
        chunks, so a sum of ``chunks`` over this list counts shared content twice.
        """
        return self.index.records

    def has_doc(self, doc_id: str) -> bool:
        """Whether a document with this content hash is indexed."""
        return self.index.has_doc(doc_id)

    def cited_as(self, doc_id: str) -> DocRecord | None:
        """The record of a document whose name its chunks cite (its earliest name)."""
        return self.index.docs.get(doc_id)

    def add_document(self, chunks: Sequence[Chunk], vectors: Vectors, record: DocRecord) -> None:
        """Index a document in memory, dropping an older version at the same path.

        The older version's content stays while another path still names it. Searches
        see the change at once; :meth:`publish` makes it durable.
        """
        self.index.remove_path(record.path)
        self.index.add(chunks, vectors, record)

    def add_name(self, record: DocRecord) -> bool:
        """Record ``record.path`` as another name of indexed content, in memory.

        Whatever the path named before is dropped as in :meth:`add_document`; then
        :meth:`publish` makes the name durable.

        Returns:
            False, changing nothing, when the path already names this content.

        Raises:
            ValueError: The content is not indexed (nothing is changed).
        """
        if not self.index.has_doc(record.doc_id):
            raise ValueError(f"document {record.doc_id} is not indexed")
        previous = self.index.doc_by_path(record.path)
        if previous is not None and previous.doc_id == record.doc_id:
            return False
        self.index.remove_path(record.path)
        self.index.add_name(record)
        return True

    def publish(self) -> None:
        """Bring BM25 in line and save both indexes as a new version, in one atomic switch.

        If saving fails, the in-memory corpus goes back to the version still on disk and
        the error is raised: what is searched is always what a restart would load.
        """
        try:
            self.lexical.rebuild(self.index.chunks)
            self.index.save(self.directory, extra=self.lexical.save)
        except BaseException:
            self.reload()
            raise

    def search(
        self,
        texts: Sequence[str],
        vectors: Vectors,
        k: int,
        *,
        state: ConversationState | None = None,
    ) -> list[ScoredChunk]:
        """The configured retriever's results over the current version."""
        return self._retriever.search(texts, vectors, k, state=state)

    def lookup(self, chunk_ids: Sequence[str]) -> tuple[list[Chunk], Vectors]:
        """Indexed chunks by id with their vectors, skipping ids that are not indexed."""
        chunks = [c for c in map(self.index.chunk, chunk_ids) if c is not None]
        return chunks, self.index.vectors_for([c.id for c in chunks])

    def salient(self, terms: Sequence[str], *, max_share: float) -> list[str]:
        """The terms that mark a topic: those in at most ``max_share`` of the chunks."""
        return self.lexical.salient(terms, max_share=max_share)
