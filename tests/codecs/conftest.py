"""Fixtures for the codec tests: real frames from opencv-doc clips, real LibriVox speech."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

av = pytest.importorskip("av")

from contextual_avatar.codecs.tools import find_clip, read_clip  # noqa: E402

LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")
TRACES = Path(__file__).resolve().parents[2] / "benchmarks" / "traces"


@pytest.fixture(scope="session")
def face_frames() -> list[av.VideoFrame]:
    """12 frames of Megamind.avi (animated face) at 320x180."""
    return read_clip(find_clip("Megamind.avi"), width=320, height=180, max_frames=12, start=30)


@pytest.fixture(scope="session")
def camera_frames() -> list[av.VideoFrame]:
    """12 frames of vtest.avi (camera footage) at 320x180."""
    return read_clip(find_clip("vtest.avi"), width=320, height=180, max_frames=12)


@pytest.fixture(scope="session")
def speech() -> np.ndarray:
    """A LibriVox sentence: int16 mono at 16 kHz."""
    path = LIBRIVOX / "sense_and_sensibility_01_austen_64kb-0870.wav"
    if not path.is_file():
        pytest.skip("apt-get install pocketsphinx-testdata")
    with wave.open(str(path)) as wav:
        assert wav.getframerate() == 16_000
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16).copy()


@pytest.fixture(scope="session")
def traces() -> Path:
    return TRACES
