"""Every example runs as a user would run it, in a fresh process."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(name: str, tmp_path: Path, *args: str) -> str:
    env = {**os.environ, "CONTEXTUAL_AVATAR_DATA_DIR": str(tmp_path / "data")}
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
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
    assert "over a congested link" in out
    assert "320x180@15" in out  # the controller stepped resolution down when capacity fell
    assert "overshoot" in out and "recovery" in out


def test_multi_avatar(tmp_path: Path):
    out = run_example("multi_avatar.py", tmp_path)
    assert "context from the shared Redis cache" in out
    written = re.search(r"facts written to the shared graph: (\d+)", out)
    assert written is not None and int(written.group(1)) > 0, out


def test_voice_pipeline(tmp_path: Path):
    """Spoken questions through a real Pipecat pipeline: whisper, engine, espeak-ng, Opus."""
    out = run_example("voice_pipeline.py", tmp_path, "--speed", "8")
    turns = out.split("\nturn ")[1:]
    assert len(turns) == 3, out
    first, second, third = turns
    assert "heard (whisper):   'How much does an adult ticket cost?'" in first
    assert "Tickets cost 9 euros for adults." in first
    assert "source: guide.pdf p. 2" in first
    for stage in ("stt", "engine", "tts", "opus", "end to end"):
        assert re.search(rf"{stage} .* \d+ ms", first), stage
    packets = re.search(r"opus: (\d+) packets", first)
    assert packets is not None
    assert int(packets.group(1)) > 50  # ~2.7 s of speech in 20 ms Opus frames
    assert "INTERRUPTED by the caller" in second
    spoken = re.search(r"([\d.]+) s of ([\d.]+) s", second)
    assert spoken is not None
    assert float(spoken.group(1)) < float(spoken.group(2))  # the rest was never sent
    assert "11:00" in third
    assert "INTERRUPTED" not in third
