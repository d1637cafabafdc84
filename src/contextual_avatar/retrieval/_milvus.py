"""Chunks in Milvus: the document store that many machines search, one collection each.

Milvus is a distributed vector database; ``pymilvus`` speaks to it. The same code takes
a local file path (Milvus Lite, the ``milvus-lite`` package: a real Milvus engine inside
this process's child, for tests and a single machine) or an ``http(s)://`` URI of a
Milvus standalone or cluster (many machines).

Each knowledge-base collection is a Milvus collection of its own, named
``<prefix>_<hex of the collection name>`` (names are validated first, so user text
never reaches Milvus as anything but a value). A row is a chunk: its id (primary key),
document id, ordinal, text, its terms (as the local BM25 makes them), the chunk as JSON
(spans and citations), its unit vector, and a sparse BM25 vector Milvus derives from the
terms (its full-text search, served by Milvus Lite too; a query is reduced to its terms
the same way, so both backends score the same tokens). Milvus Lite has no filter
parameters (``filter_params`` fails to parse there), so the two filters used are built
from values checked first: ``doc_id == "<id>"`` and ``id in [...]``, ids of
``[A-Za-z0-9_.:-]`` only (chunk ids are checked when written, so every stored id passes).

Errors from Milvus become :class:`~contextual_avatar.errors.StoreUnavailable`
(unreachable) or :class:`~contextual_avatar.errors.ConfigError` (a collection built with
another dimension, or by an earlier release with another BM25 field); a missing
``pymilvus`` is a :class:`~contextual_avatar.errors.MissingDependencyError` at first use,
never at import.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from contextual_avatar._serde import chunk_from_dict, chunk_to_dict
from contextual_avatar._text import terms
from contextual_avatar.errors import (
    ConfigError,
    InputError,
    MissingDependencyError,
    StoreUnavailable,
)
from contextual_avatar.retrieval._collections import DEFAULT_COLLECTION, check_collection_name
from contextual_avatar.types import Chunk, ScoredChunk

__all__ = ["MilvusIndex"]

Vectors = npt.NDArray[np.float32]
MAX_TEXT = 65_535
_BATCH = 512
# The BM25 field holds ``terms()`` of the chunk, space-separated; the standard tokenizer
# (Milvus Lite has no whitespace one) splits them back unchanged, so both backends score
# the same tokens (Milvus's English analyser kept "what", "did": docs/retrieval.md).
ANALYZER = {"tokenizer": "standard"}
_DOC_ID = re.compile(r"[A-Za-z0-9_.:-]{1,256}")
_CHUNK_ID = re.compile(r"[A-Za-z0-9_.:-]{1,1024}")
_GRPC = {"grpc.keepalive_permit_without_calls": False, "grpc.use_local_subchannel_pool": 1}


def _pymilvus() -> Any:
    try:
        import pymilvus  # type: ignore[import-untyped]
    except ImportError as exc:
        raise MissingDependencyError("the Milvus backend", "milvus", "pymilvus") from exc
    return pymilvus


class MilvusIndex:
    """Chunk rows per collection in Milvus: add, delete, dense and BM25 search, lookup.

    Thread-safe (one client, its calls serialised). Connects on first use.
    """

    def __init__(
        self,
        uri: str,
        *,
        dim: int,
        token: str = "",
        prefix: str = "ca",
        timeout_s: float = 10.0,
    ) -> None:
        """Describe the store; nothing connects until first use.

        Args:
            uri: A Milvus Lite file path (``.../milvus.db``) or ``http(s)://host:port``.
            dim: Vector dimension (a collection made with another is refused).
            token: Credentials (``user:password`` or an API key), if the server needs any.
            prefix: Start of every Milvus collection name (letters, digits, ``_``).
            timeout_s: Seconds a call may take before Milvus counts as unreachable.
        """
        self.uri, self.dim, self._token = uri, dim, token
        self._prefix, self._timeout = prefix, timeout_s
        self._client: Any = None
        self._ready: set[str] = set()
        self._lock = threading.RLock()

    # -- plumbing ----------------------------------------------------------------------

    def name(self, collection: str) -> str:
        """The Milvus collection that holds ``collection`` (validated)."""
        check_collection_name(collection)
        return f"{self._prefix}_{collection.encode('ascii').hex()}"

    def _call(self, what: str, fn: str, *args: Any, **kwargs: Any) -> Any:
        pymilvus = _pymilvus()
        with self._lock:
            try:
                if self._client is None:
                    # Its own connection, no pings while idle: Milvus Lite answered
                    # idle pings with "too many pings", then refused us (in the tests).
                    self._client = pymilvus.MilvusClient(
                        self.uri,
                        token=self._token,
                        timeout=self._timeout,
                        dedicated=True,
                        grpc_options=_GRPC,
                    )
                return getattr(self._client, fn)(*args, **kwargs)
            except pymilvus.MilvusException as exc:
                raise StoreUnavailable(f"Milvus {what} failed ({self.uri}): {exc}") from exc

    def _ensure(self, collection: str, *, create: bool) -> str | None:
        """The Milvus collection's name, made if ``create``; ``None`` when absent."""
        name = self.name(collection)
        if name in self._ready:
            return name
        with self._lock:
            if self._call("describe", "has_collection", name):
                self._check_schema(name)
                # A collection another client made (or one reopened) may be released.
                self._call("load", "load_collection", name)
            elif create:
                self._create(name)
            else:
                return None
            self._ready.add(name)
        return name

    def _check_schema(self, name: str) -> None:
        info = self._call("describe", "describe_collection", name)
        if "terms" not in {f.get("name") for f in info.get("fields", [])}:
            raise ConfigError(
                f"Milvus collection {name} was made by an earlier contextual-avatar (its BM25 "
                "field analyses raw text, not terms): drop it (MilvusIndex.drop) and let an "
                "engine on the data folder fill it again"
            )
        for field in info.get("fields", []):
            if field.get("name") == "vec":
                dim = int(field.get("params", {}).get("dim", -1))
                if dim != self.dim:
                    raise ConfigError(
                        f"Milvus collection {name} holds vectors of dim {dim}, not {self.dim}: "
                        "another embedder built it; use another prefix or drop it"
                    )

    def _create(self, name: str) -> None:
        pm = _pymilvus()
        dt = pm.DataType
        schema = self._call("create", "create_schema", auto_id=False)
        schema.add_field("id", dt.VARCHAR, is_primary=True, max_length=1024)
        schema.add_field("doc_id", dt.VARCHAR, max_length=256)
        schema.add_field("ordinal", dt.INT64)
        schema.add_field("text", dt.VARCHAR, max_length=MAX_TEXT)
        schema.add_field(
            "terms",
            dt.VARCHAR,
            max_length=MAX_TEXT,
            enable_analyzer=True,
            analyzer_params=ANALYZER,
        )
        schema.add_field("chunk", dt.VARCHAR, max_length=MAX_TEXT)
        schema.add_field("vec", dt.FLOAT_VECTOR, dim=self.dim)
        schema.add_field("sparse", dt.SPARSE_FLOAT_VECTOR)
        schema.add_function(
            pm.Function(
                name="bm25",
                function_type=pm.FunctionType.BM25,
                input_field_names=["terms"],
                output_field_names=["sparse"],
            )
        )
        index = self._call("create", "prepare_index_params")
        index.add_index("vec", index_type="AUTOINDEX", metric_type="IP")
        index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
        self._call(
            "create",
            "create_collection",
            name,
            schema=schema,
            index_params=index,
            consistency_level="Strong",
        )

    # -- changes -----------------------------------------------------------------------

    def add(
        self, chunks: Sequence[Chunk], vectors: Vectors, *, collection: str = DEFAULT_COLLECTION
    ) -> None:
        """Write chunks and their unit vectors (a chunk id already there is replaced).

        Raises:
            ValueError: Shapes disagree, a chunk's text or JSON is over 65,535 bytes, or a
                chunk id has characters outside ``[A-Za-z0-9_.:-]``.
        """
        if vectors.shape != (len(chunks), self.dim):
            raise ValueError(f"expected vectors {(len(chunks), self.dim)}, got {vectors.shape}")
        rows = [_row(c, v) for c, v in zip(chunks, np.asarray(vectors, np.float32), strict=True)]
        if not rows:
            return
        name = self._ensure(collection, create=True)
        for start in range(0, len(rows), _BATCH):
            self._call("upsert", "upsert", name, rows[start : start + _BATCH])
        # Seal the rows into an indexed segment: searches of a growing segment (BM25
        # above all) scan it whole, about 10x slower (measured on Milvus Lite).
        self._call("flush", "flush", name)

    def delete_ids(self, chunk_ids: Sequence[str], *, collection: str = DEFAULT_COLLECTION) -> None:
        """Delete chunks by id (ids not there are ignored)."""
        name = self._ensure(collection, create=False)
        for start in range(0, len(chunk_ids), _BATCH):
            if name is not None:
                self._call("delete", "delete", name, ids=list(chunk_ids[start : start + _BATCH]))

    def remove_doc(self, doc_id: str, *, collection: str = DEFAULT_COLLECTION) -> None:
        """Delete every chunk of a document (a document not there is not an error)."""
        if not _DOC_ID.fullmatch(doc_id):
            raise InputError(f"not a document id: {doc_id[:80]!r}")
        name = self._ensure(collection, create=False)
        if name is not None:  # Milvus Lite has no filter parameters: the id is checked above
            self._call("delete", "delete", name, filter=f'doc_id == "{doc_id}"')

    def drop(self, collection: str) -> None:
        """Delete a whole collection (absent: nothing happens)."""
        name = self.name(collection)
        with self._lock:
            self._ready.discard(name)
            if self._call("drop", "has_collection", name):
                self._call("drop", "drop_collection", name)

    # -- reads -------------------------------------------------------------------------

    def count(self, collection: str = DEFAULT_COLLECTION) -> int:
        """Chunks held for ``collection``."""
        name = self._ensure(collection, create=False)
        if name is None:
            return 0
        got = self._call("count", "query", name, filter="", output_fields=["count(*)"])
        return int(got[0]["count(*)"]) if got else 0

    def ids(self, collection: str = DEFAULT_COLLECTION) -> Iterator[str]:
        """Every chunk id held for ``collection`` (in batches, any order)."""
        name = self._ensure(collection, create=False)
        if name is None:
            return
        it = self._call("list", "query_iterator", name, batch_size=1000, output_fields=["id"])
        try:
            while batch := it.next():
                yield from (str(r["id"]) for r in batch)
        finally:
            it.close()

    def search_dense(
        self, queries: Vectors, k: int, *, collection: str = DEFAULT_COLLECTION
    ) -> list[ScoredChunk]:
        """The ``k`` chunks most similar to any query vector, best first (cosine scores)."""
        name = self._ensure(collection, create=False)
        if name is None or k <= 0:
            return []
        data = np.asarray(queries, np.float32).reshape(-1, self.dim).tolist()
        hits = self._call(
            "search",
            "search",
            name,
            data=data,
            anns_field="vec",
            limit=k,
            output_fields=["chunk"],
            search_params={"metric_type": "IP"},
        )
        best: dict[str, tuple[float, str]] = {}
        for per_query in hits:
            for hit in per_query:
                cid, score = str(hit["id"]), float(hit["distance"])
                if cid not in best or score > best[cid][0]:
                    best[cid] = (score, hit["entity"]["chunk"])
        ranked = sorted(best.items(), key=lambda kv: (-kv[1][0], kv[0]))[:k]
        return [ScoredChunk(_chunk(raw), score) for _, (score, raw) in ranked]

    def search_text(
        self, text: str, k: int, *, collection: str = DEFAULT_COLLECTION
    ) -> list[tuple[Chunk, float]]:
        """The ``k`` best BM25 matches of ``text`` (Milvus full-text search), best first."""
        name = self._ensure(collection, create=False)
        query = _terms(text)
        if name is None or k <= 0 or not query:
            return []
        hits = self._call(
            "search",
            "search",
            name,
            data=[query],
            anns_field="sparse",
            limit=k,
            output_fields=["chunk"],
            search_params={"metric_type": "BM25"},
        )
        # Milvus Lite reports BM25 as a negated distance; the magnitude is the score.
        out = [(_chunk(h["entity"]["chunk"]), abs(float(h["distance"]))) for h in hits[0]]
        return sorted(out, key=lambda pair: -pair[1])

    def score_text(
        self, text: str, chunk_ids: Sequence[str], *, collection: str = DEFAULT_COLLECTION
    ) -> dict[str, float]:
        """BM25 scores of ``text`` for the given chunks only (absent: no term matched).

        A full-text search filtered to the ids: Milvus scores with the whole
        collection's statistics, so a score equals the chunk's unfiltered one.

        Raises:
            InputError: An id is not a chunk id (``[A-Za-z0-9_.:-]``, as stored).
        """
        name = self._ensure(collection, create=False)
        query = _terms(text)
        if name is None or not chunk_ids or not query:
            return {}
        for cid in chunk_ids:
            if not _CHUNK_ID.fullmatch(cid):
                raise InputError(f"not a chunk id: {cid[:80]!r}")
        out: dict[str, float] = {}
        for start in range(0, len(chunk_ids), _BATCH):
            ids = list(chunk_ids[start : start + _BATCH])
            hits = self._call(
                "search",
                "search",
                name,
                data=[query],
                anns_field="sparse",
                limit=len(ids),
                filter=f"id in {json.dumps(ids)}",  # checked above: no quote can occur
                output_fields=["id"],
                search_params={"metric_type": "BM25"},
            )
            out.update((str(h["id"]), abs(float(h["distance"]))) for h in hits[0])
        return out

    def lookup(
        self, chunk_ids: Sequence[str], *, collection: str = DEFAULT_COLLECTION
    ) -> tuple[list[Chunk], Vectors]:
        """Stored chunks and vectors by id, in the given order, skipping unknown ids."""
        name = self._ensure(collection, create=False)
        if name is None or not chunk_ids:
            return [], np.zeros((0, self.dim), np.float32)
        rows = self._call(
            "lookup", "get", name, ids=list(chunk_ids), output_fields=["chunk", "vec"]
        )
        by_id = {str(r["id"]): r for r in rows}
        found = [by_id[c] for c in chunk_ids if c in by_id]
        vectors = np.asarray([r["vec"] for r in found], np.float32).reshape(-1, self.dim)
        return [_chunk(r["chunk"]) for r in found], vectors

    def close(self) -> None:
        """Close the client (it reconnects if used again)."""
        with self._lock:
            client, self._client = self._client, None
            self._ready.clear()
        if client is not None:
            client.close()


def _row(chunk: Chunk, vector: Vectors) -> dict[str, Any]:
    if not _CHUNK_ID.fullmatch(chunk.id):
        raise ValueError(f"chunk id {chunk.id[:80]!r}: only [A-Za-z0-9_.:-] can be stored")
    raw = json.dumps(chunk_to_dict(chunk), ensure_ascii=False)
    words = _terms(chunk.text)
    for what, value in (("text", chunk.text), ("chunk", raw), ("terms", words)):
        if len(value.encode("utf-8", "surrogatepass")) > MAX_TEXT:
            raise ValueError(f"chunk {chunk.id}: its {what} is over {MAX_TEXT} bytes")
    return {
        "id": chunk.id,
        "doc_id": chunk.doc_id,
        "ordinal": chunk.ordinal,
        "text": chunk.text,
        "terms": words,
        "chunk": raw,
        "vec": vector.tolist(),
    }


def _terms(text: str) -> str:
    """What the BM25 field analyses: the local BM25's terms, space-separated."""
    return " ".join(terms(text))


def _chunk(raw: str) -> Chunk:
    return chunk_from_dict(json.loads(raw))
