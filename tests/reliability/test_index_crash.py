"""The process killed during ingest or index save: the previous index still loads.

A child process ingests document A (published), then starts ingesting document B and is
killed with SIGKILL at a chosen point: while embedding, in the middle of writing the new
version's files, just before the atomic ``CURRENT`` switch, or just after it (before old
versions are removed). The parent then opens the same data directory: the index loads, its BM25 twin is aligned,
answers cite only published documents, and a new ingest still works.

The kill points are reached by wrapping ``os.fsync`` / ``os.replace`` / ``shutil.rmtree``
inside the child (a fault injected at the OS boundary; our code runs unchanged).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from contextual_avatar import AsyncContextEngine, EngineConfig, Parts
from contextual_avatar.retrieval import MiniLMEmbedder

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]

_CHILD = textwrap.dedent(
    """
    import os, shutil, signal, sys
    from pathlib import Path
    from contextual_avatar import ContextEngine, EngineConfig

    data_dir, doc_a, doc_b, point = sys.argv[1:5]

    def die(*_a, **_k):
        os.kill(os.getpid(), signal.SIGKILL)

    engine = ContextEngine(EngineConfig(data_dir=Path(data_dir)))
    engine.ingest(doc_a)
    print("published A", flush=True)

    progress = None
    if point == "embed":
        progress = lambda stage, done, total: die() if stage == "embed" else None
    elif point == "torn-write":
        real_fsync, calls = os.fsync, [0]
        def fsync(fd):
            calls[0] += 1
            if calls[0] == 2:  # vectors.npy is on disk, chunks.jsonl is being written
                die()
            real_fsync(fd)
        os.fsync = fsync
    elif point == "before-switch":
        real_replace = os.replace
        def replace(src, dst, *a, **k):
            if str(dst).endswith("CURRENT"):
                die()  # the new version is complete on disk, not yet published
            return real_replace(src, dst, *a, **k)
        os.replace = replace
    elif point == "after-switch":
        shutil.rmtree = die  # published; the old version is still on disk
    engine.ingest(doc_b, progress=progress)
    print("not killed", flush=True)
    """
)

DOC_A = (
    "The lighthouse museum opens at ten in the morning. Adult tickets cost nine euros. "
    "The lighthouse keeper's cottage has a collection of brass lamps. "
)
DOC_B = (
    "The submarine base tour leaves from pier seven. The submarine was built in 1958. "
    "Visitors descend a steel ladder into the control room of the submarine. "
)


@pytest.fixture
def docs(tmp_path: Path) -> tuple[Path, Path]:
    a = tmp_path / "lighthouse.md"
    a.write_text(DOC_A * 30, encoding="utf-8")
    b = tmp_path / "submarine.md"
    b.write_text(DOC_B * 30, encoding="utf-8")
    return a, b


def _run_child(data_dir: Path, a: Path, b: Path, point: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _CHILD, str(data_dir), str(a), str(b), point],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )


async def _check_index(
    data_dir: Path, embedder: MiniLMEmbedder, expected: set[str], b: Path, c: Path
) -> None:
    async with AsyncContextEngine(
        EngineConfig(data_dir=data_dir), parts=Parts(embedder=embedder)
    ) as engine:
        assert {d.name for d in engine.documents} == expected
        answer = await engine.ask("after-crash", "What was the submarine built in?")
        assert answer.context, "the index must answer"
        assert {c.source for c in answer.citations} <= expected
        # BM25 is aligned with the vector rows: lexical search finds what dense finds.
        for scored in answer.context:
            assert scored.chunk.doc_id in {d.doc_id for d in engine.documents}
        # The next ingests publish cleanly over whatever the crash left.
        await engine.ingest(b)
        await engine.ingest(c)
    versions = sorted(p.name for p in (data_dir / "index").glob("v-*"))
    assert len(versions) == 1, versions  # leftovers of the crash were removed
    async with AsyncContextEngine(
        EngineConfig(data_dir=data_dir), parts=Parts(embedder=embedder)
    ) as again:
        assert {d.name for d in again.documents} == expected | {"submarine.md", "ferry.md"}
        hit = await again.ask("x", "When was the submarine built?")
        assert any(c.source == "submarine.md" for c in hit.citations)


@pytest.mark.parametrize(
    ("point", "survivors"),
    [
        ("embed", {"lighthouse.md"}),
        ("torn-write", {"lighthouse.md"}),
        ("before-switch", {"lighthouse.md"}),
        ("after-switch", {"lighthouse.md", "submarine.md"}),
    ],
)
async def test_killed_during_ingest_leaves_a_loadable_index(
    point: str,
    survivors: set[str],
    tmp_path: Path,
    docs: tuple[Path, Path],
    embedder: MiniLMEmbedder,
) -> None:
    a, b = docs
    data_dir = tmp_path / "data"
    proc = _run_child(data_dir, a, b, point)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    assert proc.stdout.split("\n")[0] == "published A"
    c = tmp_path / "ferry.md"
    c.write_text("The ferry to the island leaves every hour from the north pier. " * 20)
    await _check_index(data_dir, embedder, survivors, b, c)
