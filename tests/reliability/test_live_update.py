"""Live updates across real processes sharing one data folder.

Answering processes (``live_child.py answer``) ask in a loop while this process or other
processes ingest, remove or die mid-publish. Checked: every answering process sees a
publish within 2 s without a restart, never fails a turn, never goes back to an older
version once it has seen a newer one; two ingesting processes lose nothing; a writer
SIGKILLed while holding the lock leaves the index readable and the lock free.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from contextual_avatar import AsyncContextEngine, EngineConfig, Parts
from contextual_avatar.retrieval import FaissIndex, FolderLock
from tests.reliability.live_child import HashEmbedder

CHILD = Path(__file__).with_name("live_child.py")
REPO = Path(__file__).resolve().parents[2]
DEADLINE_S = 2.0

LIGHTHOUSE = "The lighthouse museum opens at ten in the morning. Adult tickets cost nine euros. "
SUBMARINE = "The submarine zeppelin was built in 1958. The tour leaves from pier seven. "
FERRY = "The ferry quokka to the island leaves every hour from the north pier. "


def write(folder: Path, name: str, text: str, times: int = 20) -> Path:
    path = folder / name
    path.write_text(text * times, encoding="utf-8")
    return path


def engine(data_dir: Path) -> AsyncContextEngine:
    config = EngineConfig(data_dir=data_dir, knowledge={"backend": "none"})
    return AsyncContextEngine(config, parts=Parts(embedder=HashEmbedder()))


class Answerer:
    """A ``live_child.py answer`` process and the turns it reported."""

    def __init__(self, data_dir: Path, stop: Path, question: str, marker: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(CHILD), "answer", str(data_dir), str(stop), question, marker],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )

    def wait_ready(self) -> None:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line, self.proc.stderr.read() if self.proc.stderr else "no output"
        assert json.loads(line).get("ready"), line

    def turns(self) -> list[dict[str, Any]]:
        out, err = self.proc.communicate(timeout=90)
        assert self.proc.returncode == 0, err[-2000:]
        return [json.loads(line) for line in out.splitlines() if line.strip()]


@contextmanager
def answering(data_dir: Path, n: int, question: str, marker: str) -> Iterator[list[Answerer]]:
    stop = data_dir.parent / f"stop-{time.monotonic_ns()}"
    procs = [Answerer(data_dir, stop, question, marker) for _ in range(n)]
    try:
        for p in procs:
            p.wait_ready()
        yield procs
    except BaseException:
        for p in procs:
            p.proc.kill()
            p.proc.communicate()
        raise
    finally:
        stop.touch()  # each then exits; Answerer.turns() reads what it reported


def published_at(data_dir: Path) -> float:
    """When ``CURRENT`` was last switched (its mtime): the moment of publishing."""
    return (data_dir / "index" / "CURRENT").stat().st_mtime


def first_seen(turns: list[dict[str, Any]], after: float) -> float:
    """Seconds from ``after`` to the first turn whose context held the marker."""
    seen = [t["t"] for t in turns if t.get("marker")]
    assert seen, "the new document was never seen"
    return seen[0] - after


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path


async def test_an_ingest_and_a_removal_reach_other_processes_within_2_s(folder: Path) -> None:
    data = folder / "data"
    async with engine(data) as writer:
        await writer.ingest(write(folder, "lighthouse.md", LIGHTHOUSE))
        with answering(data, 2, "When was the submarine zeppelin built?", "zeppelin") as procs:
            await writer.ingest(write(folder, "submarine.md", SUBMARINE))
            added = published_at(data)
            await asyncio.sleep(DEADLINE_S + 0.5)
            removed = await writer.remove("submarine.md")
            gone = published_at(data)
            await asyncio.sleep(DEADLINE_S + 0.5)
        assert [r.name for r in removed] == ["submarine.md"]
        for proc in procs:
            turns = proc.turns()
            assert not [t for t in turns if "error" in t], "no turn may fail"
            assert first_seen(turns, added) <= DEADLINE_S
            after = [t for t in turns if t["t"] > gone]
            left = next(t["t"] for t in after if not t["marker"])
            assert left - gone <= DEADLINE_S
            # Never back to an older version: absent, then present, then absent for good.
            flags = [t["marker"] for t in turns]
            on = flags.index(True)
            off = flags.index(False, on)
            assert all(flags[on:off]) and not any(flags[off:]), flags
            assert all("submarine.md" not in t["cited"] for t in turns[off:])


def test_two_ingesting_processes_lose_no_document(folder: Path) -> None:
    data = folder / "data"
    files = [
        [
            write(folder, f"{side}{i}.md", f"Document {side}{i} tells of topic{side}{i}. ", 5)
            for i in range(6)
        ]
        for side in ("a", "b")
    ]
    procs = [
        subprocess.Popen(
            [sys.executable, str(CHILD), "ingest", str(data), *map(str, group)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        for group in files
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-2000:]
    records, _ = FaissIndex.read_records(data / "index")
    assert sorted(r.name for r in records) == sorted(p.name for g in files for p in g)
    assert sorted(p.name for p in (data / "index").glob("v-*")) == [
        (data / "index" / "CURRENT").read_text().strip()
    ]


async def test_a_writer_killed_mid_publish_leaves_the_index_readable_and_unlocked(
    folder: Path,
) -> None:
    data = folder / "data"
    async with engine(data) as writer:
        await writer.ingest(write(folder, "lighthouse.md", LIGHTHOUSE))
    sub = write(folder, "submarine.md", SUBMARINE)
    with answering(data, 1, "When was the submarine zeppelin built?", "zeppelin") as procs:
        for point in ("torn-write", "before-switch"):
            killed = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, str(CHILD), "die-publish", str(data), str(sub), point],
                capture_output=True,
                text=True,
                timeout=120,
                cwd=REPO,
            )
            assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
            # The kernel released the dead writer's lock: the next writer gets it at once.
            with FolderLock(data / "index.lock", timeout_s=1.0):
                assert [r.name for r in FaissIndex.read_records(data / "index")[0]] == [
                    "lighthouse.md"
                ]
        async with engine(data) as again:
            assert [d.name for d in again.documents] == ["lighthouse.md"]
            await again.ingest(write(folder, "ferry.md", FERRY))
            await again.ingest(sub)
            published = published_at(data)
        await asyncio.sleep(DEADLINE_S + 0.5)
    turns = procs[0].turns()
    assert not [t for t in turns if "error" in t], "the answering process never failed"
    assert first_seen(turns, published) <= DEADLINE_S
    records, _ = FaissIndex.read_records(data / "index")
    assert sorted(r.name for r in records) == ["ferry.md", "lighthouse.md", "submarine.md"]
    assert len(list((data / "index").glob("v-*"))) == 1, "the torn versions were cleaned up"
