"""Collections: many knowledge bases under one data folder, one :class:`Corpus` each.

On disk the default collection is where the single corpus always was, so data folders
written before collections open unchanged; every other collection has the same layout
in a folder of its own, and each has its lock file beside (not inside) its folder::

    data_dir/index/            the "default" collection (CURRENT, v-*/)
    data_dir/index.lock
    data_dir/collections/museum/
    data_dir/collections/museum.lock

A collection exists once something has been published into it. Names are 1-64 of
``a-z 0-9 _ -`` starting with a letter or digit: safe as a folder name and a key part.
Corpora are opened on first use and kept. A daemon thread calls :meth:`Corpus.refresh`
on each every ``refresh_s`` (a ``stat`` each), so another process's publish is loaded
between turns rather than discovered by one; a turn also refreshes its collection.
"""

from __future__ import annotations

import re
import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from contextual_avatar.errors import InputError
from contextual_avatar.retrieval._config import RetrievalConfig
from contextual_avatar.retrieval._corpus import Corpus
from contextual_avatar.retrieval._faiss import DocRecord, FaissIndex
from contextual_avatar.retrieval._watch import DEFAULT_REFRESH_S

__all__ = [
    "DEFAULT_COLLECTION",
    "Collections",
    "check_collection_name",
    "collection_dir",
    "list_collections",
]

DEFAULT_COLLECTION = "default"
COLLECTIONS_DIR = "collections"
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


def check_collection_name(name: object) -> str:
    """``name`` if it is a valid collection name.

    Raises:
        InputError: It is not (path separators, control characters, too long, ...).
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        shown = repr(name) if not isinstance(name, str) or len(name) <= 80 else repr(name[:80])
        raise InputError(
            "collection must be 1-64 characters of a-z, 0-9, '_' and '-', starting with a "
            f"letter or digit; got {shown}"
        )
    return name


def collection_dir(data_dir: Path, name: str) -> Path:
    """The index folder of collection ``name`` under ``data_dir`` (validated).

    Tools that only read metadata (``FaissIndex.read_records``) use it without an engine.

    Raises:
        InputError: The name is invalid.
    """
    if check_collection_name(name) == DEFAULT_COLLECTION:
        return data_dir / "index"
    return data_dir / COLLECTIONS_DIR / name


def _lock_path(data_dir: Path, name: str) -> Path:
    folder = collection_dir(data_dir, name)
    return folder.with_name(folder.name + ".lock")


def list_collections(data_dir: Path) -> list[str]:
    """Collections with a published index under ``data_dir``: ``default`` first, then by name.

    ``default`` is always listed (it may be empty). Reads directory entries only.
    """
    root = data_dir / COLLECTIONS_DIR
    found = []
    if root.is_dir():
        for entry in root.iterdir():
            if _NAME.fullmatch(entry.name) and (entry / "CURRENT").is_file():
                found.append(entry.name)
    return [DEFAULT_COLLECTION, *sorted(n for n in found if n != DEFAULT_COLLECTION)]


class Collections:
    """One :class:`Corpus` per collection under a data folder, opened on first use."""

    def __init__(
        self,
        data_dir: Path,
        config: RetrievalConfig,
        *,
        dim: int,
        embedder: str,
        refresh_s: float = DEFAULT_REFRESH_S,
        on_drop: Callable[[str], None] | None = None,
    ) -> None:
        """Open the default collection (the others open when first used).

        Args:
            data_dir: The engine's data folder.
            config: Retrieval settings shared by every collection.
            dim: The embedder's dimension.
            embedder: The embedder's name (an index built by another is refused).
            refresh_s: Seconds between checks for versions other processes published.
            on_drop: Called with a collection's name once :meth:`drop` has deleted it
                (a search backend outside the folder, e.g. Milvus, drops its copy).

        Raises:
            ConfigError: The default index was built with another embedder.
            IndexCorruptError: The default index cannot be read.
        """
        self.data_dir = data_dir
        self._config = config
        self._dim = dim
        self._embedder = embedder
        self._refresh_s = refresh_s
        self._on_drop = on_drop
        self._lock = threading.Lock()
        self._open: dict[str, Corpus] = {}
        self._closed = threading.Event()
        self._watcher: threading.Thread | None = None
        self.default = self.writable(DEFAULT_COLLECTION)

    def watch(self) -> None:
        """Start the thread that loads other processes' publishes (idempotent)."""
        with self._lock:
            if self._watcher is None and not self._closed.is_set() and self._refresh_s > 0:
                # A weak reference: an engine dropped without close() still goes away.
                self._watcher = threading.Thread(
                    target=_watch,
                    args=(weakref.ref(self), self._closed, self._refresh_s),
                    name="collections-watch",
                    daemon=True,
                )
                self._watcher.start()

    def close(self) -> None:
        """Stop the watcher thread (the corpora stay usable, refreshed by turns only)."""
        self._closed.set()
        if self._watcher is not None:
            self._watcher.join()

    def __enter__(self) -> Collections:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def names(self) -> list[str]:
        """Every collection with a published index (``default`` always, first)."""
        return list_collections(self.data_dir)

    def loaded(self, name: str) -> Corpus | None:
        """The collection if this process has opened it (no I/O beyond a rate-limited stat).

        Starts a background reload when another process has published into it.
        """
        if self._watcher is None:
            self.watch()
        corpus = self._open.get(name)
        if corpus is not None:
            corpus.refresh()
        return corpus

    def open(self, name: str) -> Corpus:
        """The collection to answer from: it must exist (may read the index: blocking).

        Raises:
            InputError: The name is invalid, or nothing was ever published into it (or it
                was dropped).
            ConfigError: Its index was built with another embedder.
            IndexCorruptError: Its index cannot be read.
        """
        corpus = self.loaded(check_collection_name(name))
        if corpus is None:
            folder = collection_dir(self.data_dir, name)
            if name != DEFAULT_COLLECTION and not (folder / "CURRENT").is_file():
                raise self._unknown(name)
            corpus = self.writable(name)
        if name != DEFAULT_COLLECTION and not corpus.published:
            raise self._unknown(name)
        return corpus

    def writable(self, name: str) -> Corpus:
        """The collection to change, created (in memory) if new (may read: blocking).

        Raises:
            InputError: The name is invalid.
            ConfigError: Its index was built with another embedder.
            IndexCorruptError: Its index cannot be read.
        """
        check_collection_name(name)
        with self._lock:
            corpus = self._open.get(name)
            if corpus is None:
                corpus = self._open[name] = Corpus(
                    collection_dir(self.data_dir, name),
                    self._config,
                    dim=self._dim,
                    embedder=self._embedder,
                    lock_path=_lock_path(self.data_dir, name),
                    refresh_s=self._refresh_s,
                )
        return corpus

    def documents(self, name: str) -> list[DocRecord]:
        """The collection's documents, as published now (reads its metadata file).

        Raises:
            InputError: The name is invalid or the collection does not exist.
            IndexCorruptError: Its metadata cannot be read.
        """
        folder = collection_dir(self.data_dir, check_collection_name(name))
        if name != DEFAULT_COLLECTION and not (folder / "CURRENT").is_file():
            raise self._unknown(name)
        return FaissIndex.read_records(folder)[0]

    def remove(self, name: str, document: str) -> list[DocRecord]:
        """Remove ``document`` (a path, file name or content id) from collection ``name``.

        Publishes a new version (see :meth:`Corpus.remove`); blocking.

        Returns:
            The records removed.

        Raises:
            InputError: The collection does not exist, or no single document matches.
        """
        if check_collection_name(name) != DEFAULT_COLLECTION and name not in self.names():
            raise self._unknown(name)
        try:
            return self.writable(name).remove(document)
        except InputError as exc:
            raise InputError(f"collection {name!r}: {exc}") from None

    def drop(self, name: str) -> int:
        """Delete a collection's documents and folder; returns how many names went.

        Dropping ``default`` empties it (it always exists).

        Raises:
            InputError: The name is invalid or the collection does not exist.
        """
        if check_collection_name(name) != DEFAULT_COLLECTION and name not in self.names():
            raise self._unknown(name)
        dropped = self.writable(name).drop()
        if name != DEFAULT_COLLECTION:
            with self._lock:
                self._open.pop(name, None)
        if self._on_drop is not None:
            self._on_drop(name)
        return dropped

    def _unknown(self, name: str) -> InputError:
        known = ", ".join(self.names())
        return InputError(
            f"unknown collection {name!r}: nothing has been ingested into it (collections: {known})"
        )


def _watch(ref: weakref.ref[Collections], closed: threading.Event, interval_s: float) -> None:
    """The watcher thread: refresh every open corpus each interval until closed or gone."""
    while not closed.wait(interval_s):
        collections = ref()
        if collections is None:
            return
        for corpus in list(collections._open.values()):
            corpus.refresh()
        del collections
