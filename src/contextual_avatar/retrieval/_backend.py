"""The search backend ``retrieval.backend`` names: the local corpus, or Milvus.

Kept apart from ``_factory.py`` because the corpus itself is built from that module.
With Milvus, one :class:`MilvusBackend` serves every collection of an engine: a
:class:`MilvusRetriever` per collection, each kept in line with that collection's
corpus (its mirror), all over one Milvus client.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from contextual_avatar.errors import StoreUnavailable
from contextual_avatar.retrieval._collections import Collections, check_collection_name
from contextual_avatar.retrieval._config import RetrievalConfig
from contextual_avatar.retrieval._milvus import MilvusIndex
from contextual_avatar.retrieval._milvus_retriever import MilvusRetriever, Mirrored

__all__ = ["MilvusBackend", "milvus_backend"]

log = logging.getLogger(__name__)


class MilvusBackend:
    """One Milvus retriever per collection, each mirroring that collection's corpus.

    Thread-safe. A retriever is made on a collection's first search and kept while its
    mirror is the same corpus object; a collection dropped and made again gets a new
    corpus, hence a new retriever that reads what Milvus holds before writing.
    """

    def __init__(
        self,
        index: MilvusIndex,
        *,
        dense_weight: float,
        lexical_weight: float,
        candidates: int,
        doc_prior: float,
    ) -> None:
        """Search ``index`` with these fusion settings (see :class:`MilvusRetriever`)."""
        self.index = index
        self._weights = (dense_weight, lexical_weight, candidates, doc_prior)
        self._lock = threading.Lock()
        self._made: dict[str, tuple[Mirrored, MilvusRetriever]] = {}

    def retriever(self, collection: str, mirror: Mirrored) -> MilvusRetriever:
        """The retriever of ``collection``, kept in line with ``mirror`` (validated name).

        Raises:
            InputError: The collection name is invalid.
        """
        check_collection_name(collection)
        with self._lock:
            made = self._made.get(collection)
            if made is None or made[0] is not mirror:
                dense_w, lex_w, candidates, doc_prior = self._weights
                made = self._made[collection] = (
                    mirror,
                    MilvusRetriever(
                        self.index,
                        collection=collection,
                        dense_weight=dense_w,
                        lexical_weight=lex_w,
                        candidates=candidates,
                        doc_prior=doc_prior,
                        mirror=mirror,
                    ),
                )
            return made[1]

    def publish(self, collection: str, collections: Collections) -> int:
        """Write a collection's newly published version to Milvus now; rows changed.

        Called after an ingest or a removal, so machines that only search Milvus see it
        without waiting for a search here. Milvus unreachable is logged, not raised: the
        data folder holds the change, and the next search or publish writes it.
        """
        try:
            return self.retriever(collection, collections.open(collection)).sync()
        except StoreUnavailable as exc:
            log.warning("collection %s: Milvus not updated yet: %s", collection, exc)
            return 0

    def dropped(self, collection: str) -> None:
        """Drop ``collection`` in Milvus too (its folder is gone), so no machine finds it.

        Raises:
            StoreUnavailable: Milvus cannot be reached (the next sync catches up).
        """
        with self._lock:
            made = self._made.get(collection)
            if made is not None:
                made[1].forget()
        self.index.drop(collection)

    def close(self) -> None:
        """Close the Milvus client (it reconnects if used again)."""
        self.index.close()


def milvus_backend(config: RetrievalConfig, *, dim: int, data_dir: Path) -> MilvusBackend | None:
    """The Milvus backend ``config`` asks for (``backend="milvus"``), else ``None``.

    ``milvus_uri`` empty means a Milvus Lite file in ``data_dir``. Nothing connects
    until the first search; a missing ``pymilvus`` raises
    :class:`~contextual_avatar.errors.MissingDependencyError` then.
    """
    if config.backend != "milvus":
        return None
    dense_w, lex_w = config.dense_weight, config.lexical_weight
    if config.mode == "dense":
        dense_w, lex_w = 1.0, 0.0
    elif config.mode == "lexical":
        dense_w, lex_w = 0.0, 1.0
    uri = config.milvus_uri or str(data_dir / "milvus.db")
    return MilvusBackend(
        MilvusIndex(uri, dim=dim, token=config.milvus_token),
        dense_weight=dense_w,
        lexical_weight=lex_w,
        candidates=config.candidates,
        doc_prior=config.doc_prior if config.conversation else 0.0,
    )
