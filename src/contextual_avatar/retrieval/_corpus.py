"""The corpus: the vector index, its BM25 twin and the default retriever, as one unit.

They are loaded, changed and published together, so one object owns them. What a turn
searches is a :class:`CorpusVersion`: one published version, immutable once in memory.
A turn takes the current one once (:attr:`Corpus.current`) and uses it to the end, so a
publish in the middle of a turn never mixes two versions into one answer.

Changes go through :meth:`Corpus.update`: under a cross-process file lock it catches up
with the latest published version, applies the change to a fork of it, publishes a new
version (a delta when it can, see ``_journal.py``; one atomic ``CURRENT`` switch) and
swaps it in. Two writers, in one process or in several,
take turns and neither loses the other's documents.

Readers take no lock. :meth:`Corpus.refresh` stats ``CURRENT`` at most every
``refresh_s``; when another process has published, a background thread applies the new
version's deltas to a fork of the loaded one (or loads it in full), checks that no
publish landed mid-read, and swaps it in with one assignment.
A reader never waits for a writer, and a failed reload leaves the loaded version serving.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from contextual_avatar.errors import IndexCorruptError
from contextual_avatar.retrieval import _journal
from contextual_avatar.retrieval._bm25 import BM25Index
from contextual_avatar.retrieval._config import RetrievalConfig
from contextual_avatar.retrieval._factory import build_retriever
from contextual_avatar.retrieval._faiss import DocRecord, FaissIndex
from contextual_avatar.retrieval._files import read_meta
from contextual_avatar.retrieval._journal import Chain
from contextual_avatar.retrieval._lock import DEFAULT_LOCK_TIMEOUT_S, FolderLock
from contextual_avatar.retrieval._names import matching
from contextual_avatar.retrieval._state import ConversationState
from contextual_avatar.retrieval._version import CorpusVersion
from contextual_avatar.retrieval._watch import DEFAULT_REFRESH_S, Stamp, VersionWatch, stamp
from contextual_avatar.types import Chunk, ScoredChunk

__all__ = ["Corpus", "CorpusVersion"]

log = logging.getLogger(__name__)

Vectors = npt.NDArray[np.float32]
T = TypeVar("T")
# Publishes that may land while one version is being read before a reader gives up.
_MAX_READS = 20
_NEVER = object()


class Corpus:
    """Indexed chunks on disk and in memory: search, look up by id, change documents.

    Thread-safe: changes are serialised by a file lock (across processes too), and
    searches and lookups run on whichever version is current, never on a half change.
    """

    def __init__(
        self,
        directory: Path,
        config: RetrievalConfig,
        *,
        dim: int,
        embedder: str,
        lock_path: Path | None = None,
        refresh_s: float = DEFAULT_REFRESH_S,
        lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S,
    ) -> None:
        """Load the published version under ``directory`` (an empty corpus if none).

        Args:
            directory: The index folder (``CURRENT`` and version directories).
            config: Retrieval settings (BM25 constants, the retriever's mix).
            dim: The embedder's dimension.
            embedder: The embedder's name (an index built by another is refused).
            lock_path: The writers' lock file (default ``directory/.lock``).
            refresh_s: Seconds between checks for a version another process published.
            lock_timeout_s: Seconds a writer waits for another before giving up.

        Raises:
            ConfigError: The index was built with another embedder.
            IndexCorruptError: The persisted index cannot be read.
        """
        self.directory = directory
        self.lock_path = lock_path or directory / ".lock"
        self._config = config
        self._dim = dim
        self._embedder = embedder
        self._lock_timeout_s = lock_timeout_s
        self._watch = VersionWatch(directory / "CURRENT", interval_s=refresh_s)
        # Held while a version is read and installed, so installs happen newest last.
        self._installing = threading.Lock()
        self._failed: object = _NEVER  # the pointer stamp whose load failed last
        self._current = self._read()
        self._watch.seen = self._current.stamp

    # -- the version turns search -------------------------------------------------------

    @property
    def current(self) -> CorpusVersion:
        """The version searches use now; keep it for the whole of a turn."""
        return self._current

    @property
    def published(self) -> bool:
        """Whether any version has been published (an index exists on disk)."""
        return bool(self._current.version)

    @property
    def index(self) -> FaissIndex:
        """The current version's vector index (do not mutate; use :meth:`update`)."""
        return self._current.index

    @property
    def lexical(self) -> BM25Index:
        """The current version's BM25 index."""
        return self._current.lexical

    @property
    def documents(self) -> list[DocRecord]:
        """Every indexed name, in ingest order.

        The same content under two paths is two records sharing a ``doc_id`` and its
        chunks, so a sum of ``chunks`` over this list counts shared content twice.
        """
        return self._current.documents

    def has_doc(self, doc_id: str) -> bool:
        """Whether a document with this content hash is indexed."""
        return self._current.has_doc(doc_id)

    def cited_as(self, doc_id: str) -> DocRecord | None:
        """The record of a document whose name its chunks cite (its earliest name)."""
        return self._current.cited_as(doc_id)

    def search(
        self,
        texts: Sequence[str],
        vectors: Vectors,
        k: int,
        *,
        state: ConversationState | None = None,
    ) -> list[ScoredChunk]:
        """The configured retriever's results over the current version."""
        return self._current.search(texts, vectors, k, state=state)

    def lookup(self, chunk_ids: Sequence[str]) -> tuple[list[Chunk], Vectors]:
        """Indexed chunks by id with their vectors, skipping ids that are not indexed."""
        return self._current.lookup(chunk_ids)

    def salient(self, terms: Sequence[str], *, max_share: float) -> list[str]:
        """The terms that mark a topic: those in at most ``max_share`` of the chunks."""
        return self._current.salient(terms, max_share=max_share)

    # -- seeing other processes' versions -----------------------------------------------

    def refresh(self) -> bool:
        """Start loading a version another process published, without waiting for it.

        Cheap enough to call on every turn: it stats ``CURRENT`` at most once per
        ``refresh_s`` and returns at once; the load runs on a daemon thread and swaps
        the new version in when complete.

        Returns:
            Whether a reload was started.
        """
        if not self._watch.changed() or not self._installing.acquire(blocking=False):
            return False
        threading.Thread(target=self._reload_held, name="corpus-reload", daemon=True).start()
        return True

    def reload(self) -> None:
        """Load the published version now, blocking (a no-op when it is already loaded).

        Raises:
            IndexCorruptError: The published version cannot be read.
        """
        with self._installing:
            if stamp(self._watch.pointer) != self._current.stamp:
                self._install(self._read())

    def _reload_held(self) -> None:
        """Body of the reload thread; ``_installing`` is held on entry and released here."""
        try:
            now = stamp(self._watch.pointer)
            if now != self._current.stamp and now != self._failed:
                self._install(self._read())
        except Exception as exc:  # a background thread must not die loudly
            self._failed = stamp(self._watch.pointer)
            log.warning("index %s: keeping the loaded version: %s", self.directory, exc)
        finally:
            self._installing.release()

    def _install(self, version: CorpusVersion) -> None:
        self._current = version  # one assignment: searches see the old or the new
        self._watch.seen = version.stamp

    def _read(self) -> CorpusVersion:
        """Read the published version, again if a publish lands mid-read.

        From the loaded version by its missing deltas when the published one extends it
        (the cost of the change), else in full (the cost of the collection).
        """
        pointer = self._watch.pointer
        for _ in range(_MAX_READS):
            before = stamp(pointer)
            try:
                version = self._advance(before) or self._load(before)
            except (IndexCorruptError, OSError) as exc:
                if stamp(pointer) != before:
                    continue  # the version went away while being read: read the new one
                if isinstance(exc, IndexCorruptError):
                    raise
                raise IndexCorruptError(
                    f"cannot load the index at {self.directory}: {exc}"
                ) from exc
            if stamp(pointer) == before:
                return version
        raise IndexCorruptError(
            f"the index at {self.directory} changed {_MAX_READS} times while being read"
        )

    def _advance(self, when: Stamp) -> CorpusVersion | None:
        """The published version from the loaded one and the deltas since, if it can be."""
        loaded = getattr(self, "_current", None)
        target = FaissIndex.current_version(self.directory)
        if loaded is None or loaded.chain is None or target is None:
            return None
        try:
            found = _journal.advance(loaded.index, loaded.lexical, loaded.chain, target)
        except IndexCorruptError as exc:
            if stamp(self._watch.pointer) != when:
                raise  # a newer publish removed the files: read again
            log.warning("index %s: reading in full: %s", self.directory, exc)
            return None
        if found is None:
            return None
        index, lexical, chain = found
        return self._version(target.name, when, index, lexical, chain)

    def _load(self, when: Stamp) -> CorpusVersion:
        """The published version read in full: its base, then its deltas replayed."""
        config = self._config
        target = FaissIndex.current_version(self.directory)
        index = FaissIndex.load(
            self.directory,
            dim=self._dim,
            embedder=self._embedder,
            spec=config.dense_spec(),
        )
        lexical = BM25Index.load(target, index.chunks, k1=config.bm25_k1, b=config.bm25_b)
        if target is None:
            return self._version("", when, index, lexical, None)
        meta = read_meta(target)
        chain = _journal.chain_of(meta, target.name)
        index.journal = []
        _journal.replay(index, target, chain.deltas)
        lexical = _journal.lexical_after(lexical, index.journal)
        index.journal = None
        index.set_records(meta)
        return self._version(target.name, when, index, lexical, chain)

    def _version(
        self, name: str, when: Stamp, index: FaissIndex, lexical: BM25Index, chain: Chain | None
    ) -> CorpusVersion:
        retriever = build_retriever(self._config, index, lexical)
        return CorpusVersion(name, when, index, lexical, retriever, chain)

    # -- changes ------------------------------------------------------------------------

    def update(self, change: Callable[[FaissIndex], T]) -> T:
        """Apply ``change`` to the latest version and publish it, as the only writer.

        Under the folder's lock: the latest published version is caught up with (another
        process may have published since this one loaded), ``change`` mutates a fork of
        it, and if it changed any document the result is published and becomes
        :attr:`current`. Blocking; call it from a worker thread in async code.

        Args:
            change: Mutates the index it is given; whatever it returns is returned. If it
                raises, nothing is published.

        Raises:
            StoreUnavailable: Another writer held the lock too long.
            IndexCorruptError: The published version cannot be read.
            OSError: Saving failed; the published and current versions are unchanged.
        """
        with FolderLock(self.lock_path, timeout_s=self._lock_timeout_s):
            with self._installing:  # catch up with other processes' publishes first
                if stamp(self._watch.pointer) != self._current.stamp:
                    self._install(self._read())
            base = self._current
            index = base.index.fork()
            before = (len(index), index.records)
            result = change(index)
            if (len(index), index.records) == before:
                return result
            lexical = _journal.lexical_after(base.lexical, index.journal or [])
            name, chain = _journal.publish(
                self.directory, base.chain, index, lexical, base.index.records
            )
            index.journal = None
            version = self._version(name, stamp(self._watch.pointer), index, lexical, chain)
            with self._installing:
                self._install(version)
        return result

    def add_document(self, chunks: Sequence[Chunk], vectors: Vectors, record: DocRecord) -> None:
        """Index and publish a document, dropping an older version at the same path.

        The older version's content stays while another path still names it.
        """

        def change(index: FaissIndex) -> None:
            index.remove_path(record.path)
            index.add(chunks, vectors, record)

        self.update(change)

    def add_name(self, record: DocRecord) -> bool:
        """Record and publish ``record.path`` as another name of indexed content.

        Whatever the path named before is dropped as in :meth:`add_document`.

        Returns:
            False, changing nothing, when the path already names this content.

        Raises:
            ValueError: The content is not indexed (nothing is changed).
        """

        def change(index: FaissIndex) -> bool:
            if not index.has_doc(record.doc_id):
                raise ValueError(f"document {record.doc_id} is not indexed")
            previous = index.doc_by_path(record.path)
            if previous is not None and previous.doc_id == record.doc_id:
                return False
            index.remove_path(record.path)
            index.add_name(record)
            return True

        return self.update(change)

    def remove(self, name: str) -> list[DocRecord]:
        """Remove a document and publish: by path, by content hash or by base name.

        A path removes that name (the content goes with its last name); a content hash
        removes the content under every name; a base name must name one path.

        Returns:
            The records removed.

        Raises:
            InputError: Nothing matches, or the base name matches several paths.
        """

        def change(index: FaissIndex) -> list[DocRecord]:
            found = matching(index.records, name)
            for record in found:
                index.remove_path(record.path)
            return found

        return self.update(change)

    def drop(self) -> int:
        """Delete every document and the index folder; returns the names dropped.

        The folder is renamed away under the lock (atomic), then deleted, so other
        processes see either the whole index or none.
        """
        with FolderLock(self.lock_path, timeout_s=self._lock_timeout_s):
            dropped = len(FaissIndex.read_records(self.directory)[0])
            if self.directory.exists():
                grave = self.directory.with_name(
                    f".dropped-{self.directory.name}-{uuid.uuid4().hex[:8]}"
                )
                os.replace(self.directory, grave)
                shutil.rmtree(grave, ignore_errors=True)
            with self._installing:
                self._install(self._read())
        return dropped

    def publish(self) -> None:
        """Kept for callers of the staged API: every change is now published as made."""
