"""Every file of ``tests/data/hostile/`` through ``engine.ingest``: a clear error or safe text.

An ``error`` file must raise :class:`IngestError` (our hierarchy) naming the file and the
problem, and leave the index on disk byte for byte as it was. An ``ok`` file must be
indexed with clean text (no NUL or other control characters) and the index must reload.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from contextual_avatar import ContextEngine, EngineConfig, Parts
from contextual_avatar.errors import ContextualAvatarError, IngestError
from contextual_avatar.retrieval import MiniLMEmbedder
from contextual_avatar.retrieval._journal import load_index

from .conftest import HOSTILE_DIR, hostile_manifest

MANIFEST = hostile_manifest()
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def index_snapshot(data_dir: Path) -> dict[str, tuple[int, int]]:
    """Every file under the index directory with its size and mtime: any write shows."""
    root = data_dir / "index"
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hostile") / "data"


@pytest.fixture(scope="module")
def engine(
    data_dir: Path, embedder: MiniLMEmbedder, guide_pdf_path: Path
) -> Iterator[ContextEngine]:
    """One engine for the module, with a real document already indexed."""
    with ContextEngine(EngineConfig(data_dir=data_dir), parts=Parts(embedder=embedder)) as eng:
        eng.ingest(guide_pdf_path)
        yield eng


@pytest.fixture(scope="module")
def guide_pdf_path() -> Path:
    return Path(__file__).resolve().parents[2] / "examples" / "data" / "guide.pdf"


def test_the_corpus_is_complete() -> None:
    """At least 30 files, each listed once with a reason, and nothing unlisted."""
    on_disk = {
        p.name
        for p in HOSTILE_DIR.iterdir()
        if p.name not in {"README.md", "manifest.json", "make_hostile.py"}
    }
    assert on_disk == set(MANIFEST)
    assert len(MANIFEST) >= 30
    assert all(entry["reason"] for entry in MANIFEST.values())
    assert sum((HOSTILE_DIR / n).stat().st_size for n in MANIFEST) < 1_000_000
    readme = (HOSTILE_DIR / "README.md").read_text(encoding="utf-8")
    assert all(f"`{name}`" in readme for name in MANIFEST)


@pytest.mark.parametrize("name", sorted(n for n, e in MANIFEST.items() if e["expect"] == "error"))
def test_hostile_file_is_refused_and_leaves_no_trace(
    name: str, engine: ContextEngine, data_dir: Path
) -> None:
    path = HOSTILE_DIR / name
    before = index_snapshot(data_dir)
    docs_before = engine.documents
    with pytest.raises(IngestError) as info:
        engine.ingest(path)
    err = info.value
    assert isinstance(err, ContextualAvatarError)
    assert err.path == path
    assert str(path) in str(err)  # names the input
    assert MANIFEST[name]["match"].lower() in err.reason.lower(), err.reason  # and the problem
    assert index_snapshot(data_dir) == before  # no partial write, no stray version
    assert engine.documents == docs_before


@pytest.mark.parametrize("name", sorted(n for n, e in MANIFEST.items() if e["expect"] == "ok"))
def test_hostile_file_is_ingested_safely(
    name: str, engine: ContextEngine, data_dir: Path, embedder: MiniLMEmbedder
) -> None:
    report = engine.ingest(HOSTILE_DIR / name)
    assert report.chunks > 0
    reloaded = load_index(data_dir / "index", dim=embedder.dim, embedder=embedder.name)
    texts = [c.text for c in reloaded.chunks if c.doc_id == report.doc_id]
    assert len(texts) == report.chunks
    for text in texts:
        assert text.strip()
        assert not _CONTROL.search(text), repr(text)
    if name == "mixed_encodings.txt":  # UTF-8 lines survive beside the Latin-1 one
        joined = " ".join(texts)
        assert "Café opening hours" in joined and "Straße" in joined
        assert "Crème brûlée" in joined
    # The engine answers over it without tripping on its characters.
    answer = engine.ask("corpus-check", "What does this document say?")
    assert answer.text


def test_size_limit_is_checked_before_reading(tmp_path: Path, embedder: MiniLMEmbedder) -> None:
    """A file past ``ingest.max_file_bytes`` is refused by size alone; the limit is configurable."""
    big = tmp_path / "big.txt"
    big.write_text("The museum opens at ten. " * 100, encoding="utf-8")  # 2,500 bytes
    config = EngineConfig(data_dir=tmp_path / "data", ingest={"max_file_bytes": 1024})
    with ContextEngine(config, parts=Parts(embedder=embedder)) as eng:
        with pytest.raises(IngestError, match="over the 1,024-byte limit"):
            eng.ingest(big)
        assert not (tmp_path / "data" / "index").exists()


def test_huge_sparse_file_is_refused_without_reading_it(
    engine: ContextEngine, tmp_path: Path, data_dir: Path
) -> None:
    """A 3 GiB PDF (sparse, so it costs no disk) is refused at the default 512 MiB limit."""
    huge = tmp_path / "huge.pdf"
    with huge.open("wb") as fh:
        fh.truncate(3 << 30)
    before = index_snapshot(data_dir)
    with pytest.raises(IngestError, match="over the 536,870,912-byte limit"):
        engine.ingest(huge)
    assert index_snapshot(data_dir) == before


def test_special_files_are_refused(engine: ContextEngine, tmp_path: Path) -> None:
    """A directory, a FIFO (reading it would block forever) and a device, named like documents."""
    folder = tmp_path / "folder.pdf"
    folder.mkdir()
    with pytest.raises(IngestError, match="is a directory"):
        engine.ingest(folder)
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    with pytest.raises(IngestError, match="not a regular file"):
        engine.ingest(fifo)
    device = tmp_path / "zeros.txt"
    device.symlink_to("/dev/zero")
    with pytest.raises(IngestError, match="not a regular file"):
        engine.ingest(device)
    with pytest.raises(IngestError, match="no such file"):
        engine.ingest(tmp_path / "missing.md")
