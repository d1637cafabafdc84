"""Every example runs as a user would run it, in a fresh process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(name: str, tmp_path: Path) -> str:
    env = {**os.environ, "CONTEXTUAL_AVATAR_DATA_DIR": str(tmp_path / "data")}
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def test_quickstart(tmp_path: Path):
    out = run_example("quickstart.py", tmp_path)
    assert "A: Tickets cost 9 euros for adults." in out
    assert "source: guide.pdf p. 2" in out
    assert "session cache" in out
    # A second run finds the index already there.
    assert "already indexed" in run_example("quickstart.py", tmp_path)


def test_adaptive_media(tmp_path: Path):
    out = run_example("adaptive_media.py", tmp_path)
    assert "kb/s" in out or "kbps" in out.lower()


def test_multi_avatar(tmp_path: Path):
    out = run_example("multi_avatar.py", tmp_path)
    assert "context from the shared Redis cache" in out
    assert "learned elsewhere" in out
