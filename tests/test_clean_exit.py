"""A script that never closes its engine ends quietly and keeps its last turns' facts."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from contextual_avatar._text import terms
from contextual_avatar.knowledge import Outbox, SQLiteGraphSink, feature_keys

pytestmark = pytest.mark.slow

GUIDE = Path(__file__).resolve().parent.parent / "examples" / "data" / "guide.pdf"

SCRIPT = textwrap.dedent(
    """
    import sys
    import contextual_avatar as ca

    config = ca.EngineConfig(data_dir=sys.argv[1], knowledge={"backend": "sqlite"})
    engine = ca.ContextEngine(config)
    engine.ingest(sys.argv[2])
    engine.ask("visitor", "How much does an adult ticket cost?")
    engine.ask("visitor", "And for children?")
    print("done")
    # no close(): the interpreter exits with the engine open
    """
)


def run(data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, str(data_dir), str(GUIDE)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_an_unclosed_engine_exits_without_warnings_and_keeps_its_facts(tmp_path: Path):
    data_dir = tmp_path / "data"
    done = run(data_dir)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "done"
    assert done.stderr == "", done.stderr

    async def facts_of_turn(turn: int) -> int:
        sink = SQLiteGraphSink(data_dir / "knowledge.sqlite3")
        try:
            # Facts name no turn: the last turn is the only one about children.
            found = await sink.related(feature_keys(terms("children"), "default"))
            return len(found) if turn == 2 else 0
        finally:
            await sink.close()

    written = asyncio.run(facts_of_turn(2))
    outbox = Outbox(data_dir / "outbox")
    try:
        waiting = outbox.count()
    finally:
        outbox.close()
    assert written > 0 or waiting > 0, "the last turn's facts were lost"
