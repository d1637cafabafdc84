"""How a writer that is never closed ends: its facts survive, and exit stays quiet.

A sync engine runs its writer on a private loop thread; at interpreter exit (or when the
engine is garbage-collected) that loop stops before ``aclose()`` can run, and executors
refuse new work. ``spill()`` saves what is still in memory, loop-free, and the writer's
tasks end quietly instead of logging failed retries. The basic spill-and-replay case is in
``test_writer.py``.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from contextual_avatar.knowledge import (
    BackgroundWriter,
    Outbox,
    SQLiteGraphSink,
    WriterClosedError,
)
from contextual_avatar.knowledge._intake import PendingFacts
from contextual_avatar.types import Fact

from .helpers import turn_facts


def test_spill_saves_a_batch_in_transit_exactly_once(tmp_path: Path) -> None:
    """A batch the ack task took but did not commit is saved by whichever gets there first."""
    outbox = Outbox(tmp_path)
    facts = turn_facts("transit", 1)
    pending = PendingFacts(outbox, capacity=1000)
    assert not pending.add(facts)
    batch = pending.take(5)
    assert len(pending) == len(facts)
    assert pending.spill() == len(facts)
    assert not pending.commit(batch)  # spill() got there first: no second copy
    assert [f for _, f in outbox.peek(1000)] == facts

    again = PendingFacts(outbox, capacity=1000)
    assert not again.add(facts)
    batch = again.take(5)
    assert again.commit(batch)
    assert again.spill() == len(facts) - 5
    assert outbox.count() == 2 * len(facts)
    with pytest.raises(WriterClosedError):
        again.add(facts)
    outbox.close()


async def test_spill_of_a_running_writer_then_aclose_delivers_all(
    sqlite_sink: SQLiteGraphSink, tmp_path: Path
) -> None:
    writer = BackgroundWriter(sqlite_sink, outbox_dir=tmp_path / "ob").start()
    facts = turn_facts("live", 1)
    writer.submit(facts)
    writer.spill()
    await writer.aclose()
    assert await sqlite_sink.count() == len(facts)
    assert writer.stats.acknowledged == len(facts)


_EXITING_CHILD = textwrap.dedent(
    """
    import asyncio, atexit, sys, threading
    from contextual_avatar.knowledge import BackgroundWriter, SQLiteGraphSink
    sys.path.insert(0, {tests!r})
    from knowledge.helpers import turn_facts

    loop = asyncio.new_event_loop()  # a sync engine's private loop thread
    loop.slow_callback_duration = 60.0  # -X dev: the submitting thread holds the GIL a while
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    sink = SQLiteGraphSink({kg!r})

    async def start():
        return BackgroundWriter(sink, outbox_dir={outbox!r}, batch_size=16).start()

    writer = asyncio.run_coroutine_threadsafe(start(), loop).result()
    writer.submit(turn_facts("exit", 0))
    asyncio.run_coroutine_threadsafe(writer.flush(), loop).result()

    gate = threading.Event()

    def at_exit():  # the engine's hook: stop the loop, save the rest, drop its tasks
        loop.call_soon_threadsafe(loop.stop)
        gate.set()
        thread.join()
        print("spilled", writer.spill(), flush=True)
        tasks = asyncio.all_tasks(loop)
        for task in tasks:
            task.cancel()
        if tasks:
            loop.run_until_complete(asyncio.wait(tasks))
        loop.close()

    atexit.register(at_exit)
    if {stall}:  # the loop is busy until exit: every later fact is still in memory then
        loop.call_soon_threadsafe(gate.wait)
    for turn in range(1, {turns}):
        writer.submit(turn_facts("exit", turn))
    print("submitted", writer.stats.submitted, flush=True)
    """
)


@pytest.mark.parametrize("stall", [True, False], ids=["loop-stalled", "loop-busy"])
async def test_never_closed_writer_exits_quietly_and_keeps_its_facts(
    sqlite_sink: SQLiteGraphSink, tmp_path: Path, stall: bool
) -> None:
    """Stalled: spill() saves it all. Busy: the tasks meet dead executors at exit, quietly."""
    turns = 40 if stall else 400
    code = _EXITING_CHILD.format(
        tests=str(Path(__file__).parents[1]),
        kg=str(sqlite_sink.path),
        outbox=str(tmp_path / "ob"),
        turns=turns,
        stall=stall,
    )
    proc = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-X", "dev", "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # no "Task was destroyed", no failed-write warnings
    later = sum(len(turn_facts("exit", t)) for t in range(1, turns))
    out = proc.stdout.split()
    assert out[:2] == ["submitted", str(later + len(turn_facts("exit", 0)))]
    assert out[2] == "spilled"
    if stall:
        assert int(out[3]) == later
        assert Outbox(tmp_path / "ob").count() == later

    writer = BackgroundWriter(sqlite_sink, outbox_dir=tmp_path / "ob").start()
    await writer.flush()
    await writer.aclose()
    expected = {f.id for t in range(turns) for f in turn_facts("exit", t)}
    assert await sqlite_sink.count() == len(expected)
    assert {f.id for f in await sqlite_sink.get(sorted(expected))} == expected


class _Recording:
    """A sink that remembers every fact it was asked to write (duplicates included)."""

    def __init__(self, inner: SQLiteGraphSink) -> None:
        self.inner = inner
        self.written: list[str] = []

    async def write(self, facts: Sequence[Fact]) -> None:
        await self.inner.write(facts)
        self.written += [f.id for f in facts]

    async def related(self, keys: Any, limit: int = 10, **options: Any) -> list[Fact]:
        return await self.inner.related(keys, limit, **options)

    async def forget(self, session_id: str) -> int:
        return await self.inner.forget(session_id)

    async def expire(self, before: float) -> int:
        return await self.inner.expire(before)

    async def close(self) -> None:
        await self.inner.close()


async def test_spill_racing_submitters_and_the_ack_task_keeps_each_fact_once(
    sqlite_sink: SQLiteGraphSink, tmp_path: Path
) -> None:
    sink = _Recording(sqlite_sink)
    writer = BackgroundWriter(sink, outbox_dir=tmp_path / "ob", queue_size=40, batch_size=7)
    writer.start()
    accepted: list[list[str]] = [[] for _ in range(4)]

    def submitter(k: int) -> None:
        for turn in range(300):
            facts = turn_facts(f"race{k}", turn)
            try:
                writer.submit(facts)
            except WriterClosedError:
                return
            accepted[k] += [f.id for f in facts]

    threads = [threading.Thread(target=submitter, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    await asyncio.sleep(0.05)
    await asyncio.to_thread(writer.spill)
    for t in threads:
        await asyncio.to_thread(t.join)
    await writer.aclose()
    expected = [i for ids in accepted for i in ids]
    assert expected, "nothing was submitted before the spill"
    assert sorted(sink.written) == sorted(expected)  # every accepted fact, none twice
    assert Outbox(tmp_path / "ob").count() == 0
