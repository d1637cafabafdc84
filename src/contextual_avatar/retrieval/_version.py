"""One published version of a corpus in memory: what a turn searches from start to end.

Immutable once built (nothing mutates its index or BM25 twin; a change builds the next
version), so a turn that holds one sees one consistent index however many versions are
published meanwhile.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from contextual_avatar.retrieval._bm25 import BM25Index
from contextual_avatar.retrieval._faiss import DocRecord, FaissIndex
from contextual_avatar.retrieval._journal import Chain
from contextual_avatar.retrieval._retriever import Retriever
from contextual_avatar.retrieval._state import ConversationState
from contextual_avatar.retrieval._watch import Stamp
from contextual_avatar.types import Chunk, ScoredChunk

__all__ = ["CorpusVersion"]

Vectors = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class CorpusVersion:
    """One published version in memory: what one turn searches, from start to end.

    Parameters:
        version: The version directory's name (``""``: nothing published yet).
        stamp: The ``CURRENT`` pointer's identity when this version was read.
        index: The vector index (do not mutate).
        lexical: Its BM25 twin, rows aligned.
        retriever: The configured retriever over the two.
        chain: Which base and deltas it is (``None``: nothing published), so the next
            version can be reached by its deltas alone.
    """

    version: str
    stamp: Stamp
    index: FaissIndex
    lexical: BM25Index
    retriever: Retriever
    chain: Chain | None = None

    @property
    def documents(self) -> list[DocRecord]:
        """Every indexed name, in ingest order (see :attr:`Corpus.documents`)."""
        return self.index.records

    def has_doc(self, doc_id: str) -> bool:
        """Whether a document with this content hash is indexed."""
        return self.index.has_doc(doc_id)

    def cited_as(self, doc_id: str) -> DocRecord | None:
        """The record of a document whose name its chunks cite (its earliest name)."""
        return self.index.docs.get(doc_id)

    def search(
        self,
        texts: Sequence[str],
        vectors: Vectors,
        k: int,
        *,
        state: ConversationState | None = None,
    ) -> list[ScoredChunk]:
        """The configured retriever's results over this version."""
        return self.retriever.search(texts, vectors, k, state=state)

    def lookup(self, chunk_ids: Sequence[str]) -> tuple[list[Chunk], Vectors]:
        """Indexed chunks by id with their vectors, skipping ids that are not indexed."""
        chunks = [c for c in map(self.index.chunk, chunk_ids) if c is not None]
        return chunks, self.index.vectors_for([c.id for c in chunks])

    def salient(self, terms: Sequence[str], *, max_share: float) -> list[str]:
        """The terms that mark a topic: those in at most ``max_share`` of the chunks."""
        return self.lexical.salient(terms, max_share=max_share)
