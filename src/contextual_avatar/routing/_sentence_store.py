"""Sentence vectors on disk, shared by every process answering from one data folder.

Why: embedding a context chunk's sentences is most of an offline answer's cost on a
cold process or a large corpus. Ingest computes them once and keeps them here; every
answering process reads them instead of embedding again (and writes back what it had
to embed, warming the store for the others).

Keyed by sentence, not by chunk: the context of a turn joins adjacent chunks into one
piece (:func:`~contextual_avatar.retrieval.merge_chunks`), whose text no chunk has, but whose
sentences are nearly all the chunks' sentences; only those spanning a chunk border are new.

One SQLite file (WAL: one writer at a time, readers never blocked), keyed by
(embedder name, digest of the sentence text): it holds only document content, so it is
shared by all sessions of the data folder, and vectors of one embedder are never read
with another. The store is a cache: each thread keeps its own connection (opening one
cost more than the read it served), reopened after a fork or when the file is replaced;
any failure -- a locked, unreadable or corrupt file -- is logged once and reported as a
miss, never raised into a turn.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

import numpy as np
import numpy.typing as npt

__all__ = ["STORE_FILE", "SentenceStore"]

log = logging.getLogger(__name__)

#: The store's file name in the data folder.
STORE_FILE = "sentence-vectors.db"  # not *.sqlite3: that is the knowledge graph's

Vector = npt.NDArray[np.float32]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sentences (
    model TEXT NOT NULL,
    key TEXT NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (model, key)
) WITHOUT ROWID
"""
_BATCH = 500  # keys per query: well under SQLite's bound-parameter limit


class SentenceStore:
    """Vectors of sentence texts embedded by one embedder, in a SQLite file."""

    def __init__(self, path: Path, *, model: str, dim: int, timeout: float = 5.0) -> None:
        """Keep ``model``'s vectors in the SQLite file ``path`` (created on first write).

        Args:
            path: The file, usually ``data_dir / STORE_FILE``.
            model: The embedder's name; part of every key.
            dim: The embedder's dimension; a stored vector of another size is a miss.
            timeout: Seconds to wait for another process's write before giving up (a miss).
        """
        self.path = path
        self.model = model
        self.dim = dim
        self._timeout = timeout
        self._ready = False
        self._warned = False
        self._lock = threading.Lock()
        self._local = threading.local()  # .held = (pid, inode, connection)

    @classmethod
    def in_folder(cls, data_dir: Path, *, model: str, dim: int) -> SentenceStore:
        """The store of ``model``'s vectors in the data folder ``data_dir``."""
        return cls(data_dir / STORE_FILE, model=model, dim=dim)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection to the file, opened on first use.

        Opened again after a fork or when the file was replaced; closed and forgotten
        when a call through it fails.
        """
        if not self._ready:  # first use in this process: the folder and the schema, once
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=self._timeout)
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute(_SCHEMA)
                conn.commit()
                self._ready = True
            finally:
                conn.close()
        key = (os.getpid(), self.path.stat().st_ino)
        held: tuple[int, int, sqlite3.Connection] | None = getattr(self._local, "held", None)
        if held is None or held[:2] != key:
            if held is not None and held[0] == key[0]:
                held[2].close()
            conn = sqlite3.connect(self.path, timeout=self._timeout)
            conn.execute("PRAGMA synchronous=NORMAL")
            held = (*key, conn)
            self._local.held = held
        try:
            yield held[2]
        except BaseException:
            self._local.held = None
            held[2].close()
            raise

    def _failed(self, doing: str, exc: Exception) -> None:
        with self._lock:
            warned, self._warned = self._warned, True
        if not warned:
            log.warning(
                "sentence vector store %s cannot be %s (%s: %s); embedding instead",
                self.path,
                doing,
                type(exc).__name__,
                exc,
            )

    def get(self, keys: Sequence[str]) -> dict[str, Vector]:
        """The stored vectors among ``keys`` (absent keys, and rows of another size, left out)."""
        if not keys or not self.path.exists():
            return {}
        found: dict[str, Vector] = {}
        try:
            with self._connect() as conn:
                for first in range(0, len(keys), _BATCH):
                    batch = list(keys[first : first + _BATCH])
                    marks = ",".join("?" * len(batch))
                    rows = conn.execute(
                        f"SELECT key, vector FROM sentences "  # noqa: S608 (marks only)
                        f"WHERE model = ? AND key IN ({marks})",
                        [self.model, *batch],
                    )
                    for key, blob in rows:
                        if isinstance(blob, bytes) and len(blob) == self.dim * 4:
                            found[str(key)] = np.frombuffer(blob, dtype="<f4").astype(np.float32)
        except (sqlite3.Error, OSError) as exc:
            self._failed("read", exc)
            return {}
        return found

    def put(self, vectors: Mapping[str, Vector]) -> None:
        """Store ``vectors`` (keys already stored are kept: equal text, equal vector)."""
        rows = [
            (self.model, key, np.ascontiguousarray(v, dtype="<f4").tobytes())
            for key, v in vectors.items()
            if v.shape == (self.dim,)
        ]
        if not rows:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as conn, conn:
                conn.executemany(
                    "INSERT OR IGNORE INTO sentences (model, key, vector) VALUES (?, ?, ?)",
                    rows,
                )
        except (sqlite3.Error, OSError) as exc:
            self._failed("written", exc)

    def __len__(self) -> int:
        """Entries stored for this embedder (0 when the file cannot be read)."""
        if not self.path.exists():
            return 0
        with suppress(sqlite3.Error, OSError), self._connect() as conn:
            row = conn.execute("SELECT count(*) FROM sentences WHERE model = ?", [self.model])
            return int(row.fetchone()[0])
        return 0
