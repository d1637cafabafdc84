"""The corpus as versions: changes under a folder lock, readers on immutable snapshots.

Two ``Corpus`` objects on one folder stand in for two processes here (the real-process
tests are in ``tests/reliability/test_live_update.py``).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from contextual_avatar.errors import InputError, StoreUnavailable
from contextual_avatar.retrieval import (
    Corpus,
    DocRecord,
    FolderLock,
    RetrievalConfig,
    normalize,
)
from contextual_avatar.retrieval._watch import VersionWatch
from contextual_avatar.types import Chunk, SourceRef, Span

DIM = 8


def content(doc: str, name: str, n: int = 3, seed: int = 0) -> tuple[list[Chunk], np.ndarray]:
    rng = np.random.default_rng(abs(hash((doc, seed))) % 2**32)
    chunks = [
        Chunk(f"{doc}:{i}", doc, i, f"{doc} text {i}", (Span(0, 9, SourceRef(name)),))
        for i in range(n)
    ]
    return chunks, normalize(rng.standard_normal((n, DIM)).astype(np.float32))


def record(doc: str, path: str, n: int = 3) -> DocRecord:
    return DocRecord(doc, f"/up/{path}", path, "text", n, 0.0)


def open_corpus(folder: Path, **kw: object) -> Corpus:
    return Corpus(folder, RetrievalConfig(), dim=DIM, embedder="test", **kw)  # type: ignore[arg-type]


def add(corpus: Corpus, doc: str, path: str) -> None:
    corpus.add_document(*content(doc, path), record(doc, path))


def wait_for(predicate, timeout: float = 2.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def test_a_pinned_version_never_changes_under_a_turn(tmp_path: Path) -> None:
    corpus = open_corpus(tmp_path / "ix")
    add(corpus, "x", "a.txt")
    pinned = corpus.current
    query = content("x", "a.txt")[1][0]
    before = [(h.chunk.id, h.score) for h in pinned.search(["q"], query[None, :], 5)]
    add(corpus, "y", "b.txt")
    corpus.remove("a.txt")
    assert [(h.chunk.id, h.score) for h in pinned.search(["q"], query[None, :], 5)] == before
    assert [d.name for d in pinned.documents] == ["a.txt"]
    assert [d.name for d in corpus.documents] == ["b.txt"]
    assert pinned.version != corpus.current.version


def test_another_writer_sees_the_latest_version_and_loses_nothing(tmp_path: Path) -> None:
    one, two = open_corpus(tmp_path / "ix"), open_corpus(tmp_path / "ix")
    add(one, "x", "a.txt")
    add(two, "y", "b.txt")  # two had never loaded x: it must not drop it
    add(one, "z", "c.txt")
    assert [d.name for d in open_corpus(tmp_path / "ix").documents] == ["a.txt", "b.txt", "c.txt"]


def test_concurrent_writers_in_threads_take_turns(tmp_path: Path) -> None:
    corpora = [open_corpus(tmp_path / "ix") for _ in range(4)]
    threads = [
        threading.Thread(target=add, args=(c, f"d{i}", f"f{i}.txt")) for i, c in enumerate(corpora)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(d.name for d in open_corpus(tmp_path / "ix").documents) == [
        f"f{i}.txt" for i in range(4)
    ]


def test_a_reader_picks_up_another_writers_version_in_the_background(tmp_path: Path) -> None:
    reader = open_corpus(tmp_path / "ix", refresh_s=0.0)
    writer = open_corpus(tmp_path / "ix")
    add(writer, "x", "a.txt")
    assert reader.documents == []
    assert reader.refresh()  # starts the load and returns at once
    assert wait_for(lambda: [d.name for d in reader.documents] == ["a.txt"])
    assert reader.current.version == writer.current.version
    assert not reader.refresh(), "nothing new: no reload"


def test_refresh_is_rate_limited() -> None:
    now = [0.0]
    watch = VersionWatch(Path("/nonexistent/CURRENT"), interval_s=0.5, timer=lambda: now[0])
    watch.seen = (1, 1, 1)
    assert watch.changed()
    now[0] = 0.4
    assert not watch.changed(), "within the interval no stat is made"
    now[0] = 0.9
    assert watch.changed()


def test_a_failed_change_publishes_nothing(tmp_path: Path) -> None:
    corpus = open_corpus(tmp_path / "ix")
    add(corpus, "x", "a.txt")
    version = corpus.current.version

    def broken(index: object) -> None:
        index.remove_path("/up/a.txt")  # type: ignore[attr-defined]
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        corpus.update(broken)
    assert corpus.current.version == version
    assert [d.name for d in open_corpus(tmp_path / "ix").documents] == ["a.txt"]


def test_remove_by_path_name_or_id_and_clear_errors(tmp_path: Path) -> None:
    corpus = open_corpus(tmp_path / "ix")
    add(corpus, "x", "a.txt")
    add(corpus, "y", "b.txt")
    corpus.add_document(
        *content("z", "a.txt", seed=1), DocRecord("z", "/other/a.txt", "a.txt", "text", 3, 0.0)
    )
    with pytest.raises(InputError, match="names 2 documents"):
        corpus.remove("a.txt")
    with pytest.raises(InputError, match=r"no document 'nope\.txt'"):
        corpus.remove("nope.txt")
    with pytest.raises(InputError):
        corpus.remove("")
    version = corpus.current.version
    assert corpus.current.version == version, "a refused removal publishes nothing"
    assert [r.name for r in corpus.remove("/other/a.txt")] == ["a.txt"]
    assert [r.doc_id for r in corpus.remove("y")] == ["y"]
    assert [d.path for d in corpus.documents] == ["/up/a.txt"]
    assert corpus.index.chunk("y:0") is None and corpus.lookup(["z:0"])[0] == []


def test_drop_removes_the_folder_and_other_readers_see_it_empty(tmp_path: Path) -> None:
    folder = tmp_path / "ix"
    corpus = open_corpus(folder, lock_path=tmp_path / "ix.lock")
    add(corpus, "x", "a.txt")
    reader = open_corpus(folder, refresh_s=0.0, lock_path=tmp_path / "ix.lock")
    assert corpus.drop() == 1
    assert not folder.exists() and not corpus.published
    reader.refresh()
    assert wait_for(lambda: not reader.published and reader.documents == [])


def test_the_folder_lock_excludes_a_second_holder_until_released(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    with (
        FolderLock(path),
        pytest.raises(StoreUnavailable, match="another writer"),
        FolderLock(path, timeout_s=0.05),
    ):
        pass
    with FolderLock(path, timeout_s=0.05):
        pass


def test_the_watcher_loads_another_writers_version_between_turns(tmp_path: Path) -> None:
    from contextual_avatar.retrieval import Collections

    with (
        Collections(
            tmp_path, RetrievalConfig(), dim=DIM, embedder="test", refresh_s=0.02
        ) as reader,
        Collections(tmp_path, RetrievalConfig(), dim=DIM, embedder="test") as writer,
    ):
        reader.watch()
        add(writer.default, "x", "a.txt")
        assert wait_for(lambda: [d.name for d in reader.default.documents] == ["a.txt"])
        add(writer.writable("museum"), "y", "b.txt")
        assert reader.names() == ["default", "museum"]
        assert [d.name for d in reader.open("museum").documents] == ["b.txt"]
