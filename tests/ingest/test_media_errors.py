"""Every bad input from the issue ends in an IngestError that names the file and the reason."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from contextual_avatar.errors import ContextualAvatarError, IngestError
from contextual_avatar.ingest._media import check_audible, decode_audio
from tests.ingest.conftest_media import silence, speak, write_media


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    return np.concatenate(
        [
            silence(0.3),
            speak("She has worked here for ten years and knows every room."),
            silence(0.3),
        ]
    )


def _expect(path: Path, *words: str, max_duration_s: float = 60) -> IngestError:
    with pytest.raises(IngestError) as info:
        decode_audio(path, max_duration_s=max_duration_s)
    err = info.value
    assert isinstance(err, ContextualAvatarError)
    assert err.path == path
    assert str(path) in str(err)
    for word in words:
        assert word in err.reason
    return err


def _cut(src: Path, dst: Path, fraction: float = 0.5) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst


def _wav_header(data_bytes: int, *, tag: int = 1) -> bytes:
    fmt = struct.pack("<IHHIIHH", 16, tag, 1, 16000, 32000, 2, 16)
    return (
        b"RIFF"
        + struct.pack("<I", 36 + data_bytes)
        + b"WAVEfmt "
        + fmt
        + b"data"
        + struct.pack("<I", data_bytes)
    )


def test_missing_file(tmp_path: Path) -> None:
    _expect(tmp_path / "nope.mp4", "does not exist")


def test_zero_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.mp4"
    path.touch()
    _expect(path, "empty", "0 bytes")


def test_text_renamed_mp4(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp4"
    path.write_text("Meeting notes\n- buy milk\n" * 50)
    _expect(path, "not a media file")


def test_random_bytes_renamed_mp3(tmp_path: Path) -> None:
    path = tmp_path / "noise.mp3"
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 30_000, dtype=np.uint8).tobytes())
    _expect(path, "cannot open")


def test_mp4_truncated_before_its_index(speech: np.ndarray, tmp_path: Path) -> None:
    full = write_media(tmp_path / "full.mp4", speech)
    _expect(_cut(full, tmp_path / "cut.mp4"), "truncated")


def test_mp4_with_index_first_truncated_mid_data(speech: np.ndarray, tmp_path: Path) -> None:
    full = write_media(tmp_path / "full.mp4", speech, faststart=True)
    _expect(_cut(full, tmp_path / "cut.mp4"), "truncated")


@pytest.mark.parametrize("suffix", [".mkv", ".webm", ".mp3", ".flac", ".wav", ".ogg", ".m4a"])
def test_truncated_containers(suffix: str, speech: np.ndarray, tmp_path: Path) -> None:
    full = write_media(tmp_path / f"full{suffix}", speech)
    decode_audio(full, max_duration_s=60)  # the whole file is fine
    _expect(_cut(full, tmp_path / f"cut{suffix}"), "truncated")


def test_video_without_audio(speech: np.ndarray, tmp_path: Path) -> None:
    path = write_media(tmp_path / "mute.mp4", speech, audio=False)
    _expect(path, "no audio track")


def test_zero_length_audio(tmp_path: Path) -> None:
    path = tmp_path / "nothing.wav"
    path.write_bytes(_wav_header(0))
    _expect(path, "empty", "0 seconds")


def test_unreadable_codec(speech: np.ndarray, tmp_path: Path) -> None:
    pcm = (speech * 32767).astype("<i2").tobytes()
    path = tmp_path / "odd.wav"
    path.write_bytes(_wav_header(len(pcm), tag=0x5A5A) + pcm)
    _expect(path, "codec")


def test_longer_than_the_limit(speech: np.ndarray, tmp_path: Path) -> None:
    path = write_media(tmp_path / "talk.mp4", speech)
    _expect(path, "limit", max_duration_s=1.0)


def test_silent_audio_is_refused(tmp_path: Path) -> None:
    path = write_media(tmp_path / "quiet.wav", silence(2.0))
    samples = decode_audio(path, max_duration_s=60)
    with pytest.raises(IngestError, match="silent"):
        check_audible(samples, path=path, silence_dbfs=-50)


def test_faint_but_real_sound_passes(speech: np.ndarray) -> None:
    check_audible(speech * 0.05, path=Path("x.wav"), silence_dbfs=-50)
    with pytest.raises(IngestError, match="peak level"):
        check_audible(speech * 0.001, path=Path("x.wav"), silence_dbfs=-50)
