"""Decoding every supported container/codec to 16 kHz mono with PyAV keeps sound and timing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from contextual_avatar.ingest._media import MEDIA_SUFFIXES, SAMPLE_RATE, decode_audio, file_sha256
from tests.ingest.conftest_media import FORMATS, SR, silence, speak, speech_bounds, write_media


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    return np.concatenate([silence(0.7), speak("Our guide today is named Margaret."), silence(0.4)])


def test_every_container_in_the_issue_is_routed() -> None:
    assert set(FORMATS) <= MEDIA_SUFFIXES
    assert all(s.startswith(".") and s == s.lower() for s in MEDIA_SUFFIXES)


@pytest.mark.parametrize("suffix", sorted(FORMATS))
def test_decodes_to_16k_mono_with_speech_where_it_was(
    suffix: str, speech: np.ndarray, tmp_path: Path
) -> None:
    path = write_media(tmp_path / f"talk{suffix}", speech)
    samples = decode_audio(path, max_duration_s=60)
    assert samples.dtype == np.float32
    assert samples.ndim == 1
    assert SAMPLE_RATE == SR
    # lossy codecs pad a few ms; the sound itself must not move
    assert abs(samples.size - speech.size) / SR < 0.05
    start, end = speech_bounds(samples)
    ref_start, ref_end = speech_bounds(speech)
    assert abs(start - ref_start) < 0.02
    assert abs(end - ref_end) < 0.02
    assert float(np.max(np.abs(samples))) <= 1.0 + 1e-6


def test_video_track_is_ignored_and_audio_kept(speech: np.ndarray, tmp_path: Path) -> None:
    with_video = decode_audio(write_media(tmp_path / "a.mp4", speech), max_duration_s=60)
    without = decode_audio(write_media(tmp_path / "b.mp4", speech, video=False), max_duration_s=60)
    assert with_video.size == without.size
    np.testing.assert_allclose(with_video, without, atol=1e-6)


def test_progress_reports_seconds_decoded(tmp_path: Path) -> None:
    long = np.tile(np.sin(np.linspace(0, 2000 * np.pi, SR)).astype(np.float32) * 0.3, 130)
    path = write_media(tmp_path / "long.flac", long)
    calls: list[tuple[float, float]] = []
    decode_audio(path, max_duration_s=600, progress=lambda d, t: calls.append((d, t)))
    assert len(calls) == 2  # every 60 s of a 130 s file
    assert [round(d) for d, _ in calls] == [60, 120]
    assert all(abs(t - 130) < 0.5 for _, t in calls)


def test_content_hash_ignores_the_name(tmp_path: Path) -> None:
    a = tmp_path / "a.wav"
    a.write_bytes(b"RIFF....same bytes")
    b = tmp_path / "b.mp3"
    b.write_bytes(a.read_bytes())
    assert file_sha256(a) == file_sha256(b)
    b.write_bytes(b"RIFF....other bytes")
    assert file_sha256(a) != file_sha256(b)
