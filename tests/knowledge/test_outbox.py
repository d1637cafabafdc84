from __future__ import annotations

from pathlib import Path

from contextual_avatar.knowledge import Outbox

from .helpers import HOSTILE, plain_fact, turn_facts


def test_append_peek_delete_in_order(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path)
    first, second = turn_facts("o", 1), turn_facts("o", 2)
    outbox.append(first)
    outbox.append(second)
    rows = outbox.peek(len(first))
    assert [f for _, f in rows] == first
    outbox.delete_through(rows[-1][0])
    assert [f for _, f in outbox.peek(1000)] == second
    assert outbox.count() == len(second)
    outbox.close()
    outbox.close()


def test_survives_reopening(tmp_path: Path) -> None:
    facts = [plain_fact("h", i, subject=h, obj=h) for i, h in enumerate(HOSTILE)]
    outbox = Outbox(tmp_path / "nested" / "dir")
    outbox.append(facts)
    outbox.close()
    again = Outbox(tmp_path / "nested" / "dir")
    assert [f for _, f in again.peek(100)] == facts
    again.close()


def test_waiting_counts_read_only_and_creates_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "outbox"
    assert Outbox.waiting(folder) is None
    assert not folder.exists()
    box = Outbox(folder)
    try:
        box.append(turn_facts("s", 1))
        assert Outbox.waiting(folder) == box.count() > 0
    finally:
        box.close()
