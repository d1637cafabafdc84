from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contextual_avatar.errors import StoreUnavailable
from contextual_avatar.knowledge import (
    BackgroundWriter,
    KnowledgeConfig,
    Neo4jGraphSink,
    Outbox,
    SQLiteGraphSink,
    WriterClosedError,
    backoff_delay,
)
from contextual_avatar.testing import BoltServer, free_port

from .helpers import turn_facts

_T = TypeVar("_T")

FAST_RETRY: dict[str, Any] = {"retry_initial_s": 0.01, "retry_max_s": 0.05}


async def test_submitted_facts_reach_the_store(
    sqlite_sink: SQLiteGraphSink, tmp_path: Path
) -> None:
    writer = BackgroundWriter(sqlite_sink, outbox_dir=tmp_path / "ob", batch_size=7).start()
    expected = set()
    for turn in range(20):
        facts = turn_facts("w", turn)
        expected |= {f.id for f in facts}
        writer.submit(facts)
    await writer.flush()
    assert await sqlite_sink.count() == len(expected)
    stats = writer.stats
    assert stats.delivered == stats.submitted == sum(len(turn_facts("w", t)) for t in range(20))
    assert stats.queued == 0
    assert Outbox(tmp_path / "ob").count() == 0
    await writer.aclose()


async def test_submit_before_start_is_kept(sqlite_sink: SQLiteGraphSink, tmp_path: Path) -> None:
    writer = BackgroundWriter(sqlite_sink, outbox_dir=tmp_path / "ob")
    writer.submit(turn_facts("early", 1))
    writer.start()
    await writer.flush()
    assert await sqlite_sink.count() == len(turn_facts("early", 1))
    await writer.aclose()


async def test_full_queue_spills_to_the_outbox_and_loses_nothing(
    sqlite_sink: SQLiteGraphSink, tmp_path: Path
) -> None:
    writer = BackgroundWriter(
        sqlite_sink, outbox_dir=tmp_path / "ob", queue_size=10, batch_size=5
    ).start()
    ids = set()
    for turn in range(30):  # submitted without yielding: the queue must overflow
        facts = turn_facts("spill", turn)
        ids |= {f.id for f in facts}
        writer.submit(facts)
    assert writer.stats.spilled > 0
    await writer.flush()
    assert await sqlite_sink.count() == len(ids)
    await writer.aclose()


async def test_submit_from_another_thread(sqlite_sink: SQLiteGraphSink, tmp_path: Path) -> None:
    writer = BackgroundWriter(sqlite_sink, outbox_dir=tmp_path / "ob").start()
    await asyncio.to_thread(writer.submit, turn_facts("thread", 1))
    await writer.flush()
    assert await sqlite_sink.count() == len(turn_facts("thread", 1))
    await writer.aclose()


async def test_submit_after_close_raises(sqlite_sink: SQLiteGraphSink, tmp_path: Path) -> None:
    writer = BackgroundWriter(sqlite_sink, outbox_dir=tmp_path / "ob").start()
    await writer.aclose()
    await writer.aclose()
    with pytest.raises(WriterClosedError):
        writer.submit(turn_facts("late", 1))


async def test_from_config_and_context_manager(
    sqlite_sink: SQLiteGraphSink, tmp_path: Path
) -> None:
    config = KnowledgeConfig(queue_size=50, batch_size=10)
    async with BackgroundWriter.from_config(sqlite_sink, config, outbox_dir=tmp_path) as writer:
        writer.submit(turn_facts("cm", 1))
    # aclose() drained it.
    assert await sqlite_sink.count() == len(turn_facts("cm", 1))


async def test_outage_then_recovery_delivers_everything_once(
    own_bolt: BoltServer, tmp_path: Path
) -> None:
    """The server is killed mid-run and restarted: every fact arrives, none twice."""
    sink = Neo4jGraphSink(own_bolt.uri, own_bolt.user, own_bolt.password, connect_timeout_s=0.5)
    writer = BackgroundWriter(sink, outbox_dir=tmp_path / "ob", batch_size=50, **FAST_RETRY)
    writer.start()
    ids: list[str] = []
    try:
        for turn in range(120):
            if turn == 40:
                await writer.flush()
                own_bolt.kill()
            if turn == 80:
                await writer.checkpoint()  # acknowledged on disk while the store is down
                with pytest.raises(StoreUnavailable):
                    await writer.flush(timeout_s=0.2)
                own_bolt.start()
            facts = turn_facts("outage", turn)
            ids += [f.id for f in facts]
            writer.submit(facts)
            await asyncio.sleep(0)  # let the writer run, as an ask path would
        await writer.flush()
        assert await sink.count(session_prefix="outage") == len(set(ids))  # none twice
        assert {f.id for f in await sink.get(ids)} == set(ids)  # every one arrived
    finally:
        await writer.aclose()
        await sink.close()


async def test_clean_close_while_store_is_down_keeps_facts_for_the_next_writer(
    own_bolt: BoltServer, tmp_path: Path
) -> None:
    sink = Neo4jGraphSink(own_bolt.uri, own_bolt.user, own_bolt.password, connect_timeout_s=0.5)
    own_bolt.kill()
    writer = BackgroundWriter(sink, outbox_dir=tmp_path / "ob", **FAST_RETRY).start()
    facts = turn_facts("closed", 1) + turn_facts("closed", 2)
    writer.submit(facts)
    await writer.aclose(timeout_s=0.2)
    assert Outbox(tmp_path / "ob").count() == len(facts)

    own_bolt.start()
    replay = BackgroundWriter(sink, outbox_dir=tmp_path / "ob", **FAST_RETRY).start()
    await replay.flush()
    await replay.aclose()
    assert await sink.count(session_prefix="closed") == len(facts)
    await sink.close()


async def test_replay_of_already_delivered_facts_has_no_effect(
    sqlite_sink: SQLiteGraphSink, tmp_path: Path
) -> None:
    facts = turn_facts("again", 1)
    await sqlite_sink.write(facts)
    outbox = Outbox(tmp_path / "ob")
    outbox.append(facts)  # as if the process died after the store write, before the delete
    outbox.close()
    writer = BackgroundWriter(sqlite_sink, outbox_dir=tmp_path / "ob").start()
    await writer.flush()
    await writer.aclose()
    assert writer.stats.delivered == len(facts)
    assert await sqlite_sink.count() == len(facts)


_KILLED_CHILD = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    from contextual_avatar.knowledge import BackgroundWriter, Neo4jGraphSink
    sys.path.insert(0, {tests!r})
    from knowledge.helpers import turn_facts

    async def main():
        # Nothing listens on this port: every store write fails.
        sink = Neo4jGraphSink("bolt://127.0.0.1:{port}", "u", "password", connect_timeout_s=0.2)
        writer = BackgroundWriter(sink, outbox_dir={outbox!r}, batch_size=16,
                                  retry_initial_s=0.01, retry_max_s=0.05).start()
        for turn in range(50):
            writer.submit(turn_facts("killed", turn))
        await writer.checkpoint()
        print("acknowledged", writer.stats.acknowledged, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)

    asyncio.run(main())
    """
)


async def test_killed_process_loses_nothing_acknowledged(
    sqlite_sink: SQLiteGraphSink, tmp_path: Path
) -> None:
    outbox = tmp_path / "ob"
    code = _KILLED_CHILD.format(
        tests=str(Path(__file__).parents[1]), port=free_port(), outbox=str(outbox)
    )
    proc = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == -9, proc.stderr
    expected = {f.id for t in range(50) for f in turn_facts("killed", t)}
    assert proc.stdout.split() == [
        "acknowledged",
        str(sum(len(turn_facts("killed", t)) for t in range(50))),
    ]

    writer = BackgroundWriter(sqlite_sink, outbox_dir=outbox).start()
    await writer.flush()
    await writer.aclose()
    assert {f.id for f in await sqlite_sink.get(sorted(expected))} == expected
    assert await sqlite_sink.count() == len(expected)


@given(
    attempt=st.integers(min_value=0, max_value=200),
    initial=st.floats(min_value=0.001, max_value=1.0),
    extra=st.floats(min_value=0.0, max_value=10.0),
    mult=st.floats(min_value=1.0, max_value=4.0),
    r=st.floats(min_value=0.0, max_value=0.999999),
)
def test_backoff_delay_is_capped_and_jittered(
    attempt: int, initial: float, extra: float, mult: float, r: float
) -> None:
    cap_s = initial + extra
    delay = backoff_delay(attempt, initial_s=initial, max_s=cap_s, multiplier=mult, rand=lambda: r)
    cap = min(cap_s, initial * mult**attempt)
    assert cap / 2 - 1e-12 <= delay <= cap + 1e-12
    nxt = backoff_delay(
        attempt + 1, initial_s=initial, max_s=cap_s, multiplier=mult, rand=lambda: r
    )
    assert nxt >= delay - 1e-12


async def test_fact_the_store_cannot_encode_is_set_aside_not_blocking(
    sqlite_sink: SQLiteGraphSink, tmp_path: Path
) -> None:
    from contextual_avatar.types import Fact

    poison = Fact(
        id="poison",
        subject="lone \ud800 surrogate",
        predicate="p",
        object="o",
        session_id="bad",
        turn=1,
    )
    good_before, good_after = turn_facts("ok", 1), turn_facts("ok", 2)
    writer = BackgroundWriter(sqlite_sink, outbox_dir=tmp_path / "ob").start()
    writer.submit([*good_before, poison, *good_after])
    await writer.flush()
    await writer.aclose()
    assert await sqlite_sink.count(session_prefix="ok") == len(good_before) + len(good_after)
    assert writer.stats.rejected == 1
    outbox = Outbox(tmp_path / "ob")
    ((kept, error),) = outbox.rejected()
    assert kept == poison  # kept exactly, for a human to look at
    assert "UnicodeEncodeError" in error
    assert outbox.count() == 0


# -- exit without aclose(): spill() ------------------------------------------------------------


def _bury(loop: asyncio.AbstractEventLoop, *closing: Coroutine[Any, Any, None]) -> None:
    """Cancel what an abandoned (stopped) loop still holds, run ``closing``, close it."""
    tasks = asyncio.all_tasks(loop)

    async def finish() -> None:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for coro in closing:
            await coro

    loop.run_until_complete(finish())
    loop.close()


async def test_spill_after_the_loop_stopped_keeps_every_fact_for_the_next_writer(
    tmp_path: Path,
) -> None:
    """The sync engine's case: its loop thread is gone before anyone called aclose()."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    def on_loop(coro: Coroutine[Any, Any, _T]) -> _T:
        return asyncio.run_coroutine_threadsafe(coro, loop).result()

    first_sink = SQLiteGraphSink(tmp_path / "kg.sqlite3")

    async def start() -> BackgroundWriter:
        return BackgroundWriter(first_sink, outbox_dir=tmp_path / "ob", batch_size=8).start()

    writer = on_loop(start())
    delivered, acked = turn_facts("exit", 0), turn_facts("exit", 1)
    writer.submit(delivered)
    on_loop(writer.flush())  # in the store
    writer.submit(acked)
    on_loop(writer.checkpoint())  # in the outbox, maybe in the store too
    loop.call_soon_threadsafe(loop.stop)
    thread.join()

    queued = turn_facts("exit", 2) + turn_facts("exit", 3) + delivered  # the last: a re-submit
    writer.submit(queued[:10])
    writer.submit(queued[10:])
    assert writer.stats.queued == len(queued)
    assert writer.spill() == len(queued)
    assert writer.spill() == 0
    stats = writer.stats
    assert (stats.queued, stats.acknowledged) == (0, stats.submitted)
    with pytest.raises(WriterClosedError):
        writer.submit(turn_facts("exit", 4))
    outbox = Outbox(tmp_path / "ob")
    in_outbox = [f.id for _, f in outbox.peek(10_000)]
    outbox.close()
    assert in_outbox[-len(queued) :] == [f.id for f in queued]  # after what was there, in order
    assert len(in_outbox) <= len(queued) + len(acked)
    await asyncio.to_thread(_bury, loop, first_sink.close())

    sink = SQLiteGraphSink(tmp_path / "kg.sqlite3")
    async with BackgroundWriter(sink, outbox_dir=tmp_path / "ob") as replay:
        await replay.flush()
    expected = {f.id for f in delivered + acked + queued}
    assert await sink.count() == len(expected)  # each fact once, re-submits and replays too
    assert {f.id for f in await sink.get(sorted(expected))} == expected
    assert Outbox(tmp_path / "ob").count() == 0
    await sink.close()
