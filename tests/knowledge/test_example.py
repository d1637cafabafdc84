from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from .conftest import BoltTarget

EXAMPLE = Path(__file__).parents[2] / "examples" / "shared_graph.py"


async def test_two_processes_share_one_graph(bolt_target: BoltTarget) -> None:
    """The example runs two avatar processes on SQLite and on the Bolt server; both must pass."""
    env = os.environ | {
        "NEO4J_URI": bolt_target.uri,
        "NEO4J_USER": bolt_target.user,
        "NEO4J_PASSWORD": bolt_target.password,
    }
    if bolt_target.database:
        env["NEO4J_DATABASE"] = bolt_target.database
    proc = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, str(EXAMPLE)],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "sqlite: exit codes [0, 0]" in proc.stdout
    assert "neo4j: exit codes [0, 0]" in proc.stdout
