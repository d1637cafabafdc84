"""The search backend ``retrieval.backend`` names: the local corpus, or Milvus.

Kept apart from ``_factory.py`` because the corpus itself is built from that module.
"""

from __future__ import annotations

from pathlib import Path

from contextual_avatar.retrieval._config import RetrievalConfig
from contextual_avatar.retrieval._milvus import MilvusIndex
from contextual_avatar.retrieval._milvus_retriever import MilvusRetriever, Mirrored

__all__ = ["backend_retriever"]


def backend_retriever(
    config: RetrievalConfig, *, dim: int, data_dir: Path, mirror: Mirrored
) -> MilvusRetriever | None:
    """The retriever ``config.backend`` names when it is not the local corpus, else ``None``.

    With ``backend="milvus"`` Milvus serves the default collection's searches and is kept
    in line with ``mirror`` (the local corpus); ``milvus_uri`` empty means a Milvus Lite
    file in ``data_dir``. Nothing connects until the first search; a missing ``pymilvus``
    raises :class:`~contextual_avatar.errors.MissingDependencyError` then.
    """
    if config.backend != "milvus":
        return None
    dense_w, lex_w = config.dense_weight, config.lexical_weight
    if config.mode == "dense":
        dense_w, lex_w = 1.0, 0.0
    elif config.mode == "lexical":
        dense_w, lex_w = 0.0, 1.0
    uri = config.milvus_uri or str(data_dir / "milvus.db")
    return MilvusRetriever(
        MilvusIndex(uri, dim=dim, token=config.milvus_token),
        dense_weight=dense_w,
        lexical_weight=lex_w,
        candidates=config.candidates,
        doc_prior=config.doc_prior if config.conversation else 0.0,
        mirror=mirror,
    )
