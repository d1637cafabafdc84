"""Transcribe recordings offline with openai-whisper into timestamped segments.

:func:`load_media` is what the ingest dispatch calls for audio and video files: decode
with PyAV (:mod:`._media`), transcribe with whisper (word timestamps on by default), and
group the words into sentence-sized :class:`~contextual_avatar.types.Segment` s whose
``SourceRef.start_s``/``end_s`` come from the first and last word. A segment ends at a
sentence end, at a pause longer than ``silence_split_s`` and once it reaches
``max_segment_s``, so a citation never spans a long silence.

Models are loaded once per process (:func:`get_transcriber`). Transcripts are cached on
disk by the recording's content hash plus the model and decode settings, so ingesting the
same recording again (under any name) neither decodes nor transcribes.

This module is the pipeline; its steps are one module each: the model
(:mod:`._whisper_model`), word timing and grouping (:mod:`._transcribe_words`) and the
transcript cache (:mod:`._transcribe_cache`).
"""

from __future__ import annotations

from pathlib import Path

from contextual_avatar.errors import IngestError
from contextual_avatar.ingest._media import SAMPLE_RATE, check_audible, decode_audio, file_sha256
from contextual_avatar.ingest._transcribe_cache import (
    TranscriptCache,
    cache_dir,
    default_cache_dir,
)
from contextual_avatar.ingest._transcribe_config import TranscriptionConfig
from contextual_avatar.ingest._transcribe_words import (
    TimedText,
    find_untranscribed,
    group_words,
    refine_word_times,
)
from contextual_avatar.ingest._whisper_model import (
    ProgressFn,
    WhisperTranscriber,
    checkpoint_id,
    get_transcriber,
    resolve_checkpoint,
)
from contextual_avatar.types import Segment

# The pipeline's parts are re-exported: callers and tests import them from here.
__all__ = [
    "TimedText",
    "TranscriptCache",
    "WhisperTranscriber",
    "default_cache_dir",
    "find_untranscribed",
    "get_transcriber",
    "group_words",
    "load_media",
    "refine_word_times",
    "resolve_checkpoint",
]


def load_media(
    path: Path,
    *,
    config: TranscriptionConfig,
    progress: ProgressFn | None = None,
) -> list[Segment]:
    """Transcribe an audio or video file into timestamped segments.

    Args:
        path: Any file PyAV decodes (see :data:`MEDIA_SUFFIXES`).
        config: Model, cache and segmentation settings.
        progress: Called as ``progress(seconds_done, seconds_total)`` while transcribing.

    Returns:
        Sentence-sized segments citing ``SourceRef(source=path.name, start_s=, end_s=)``.

    Raises:
        IngestError: The file is unusable (see :func:`decode_audio`), silent, or has no
            recognisable speech.
        ModelError: The whisper model failed to load or run.
        MissingDependencyError: The ``whisper`` extra is not installed.
    """
    path = Path(path)
    if not path.is_file():
        raise IngestError(path, "the file does not exist")
    if path.stat().st_size == 0:
        raise IngestError(path, "the file is empty (0 bytes)")
    content = file_sha256(path)
    checkpoint = resolve_checkpoint(config)
    model_id = checkpoint_id(checkpoint)
    cache = TranscriptCache(cache_dir(config) / "transcripts")
    key = TranscriptCache.key(content, model_id, config)
    cached = cache.get(key) if config.cache_transcripts else None
    if cached is not None:
        duration_s, words = cached
        if progress is not None:
            progress(duration_s, duration_s)
    else:
        samples = decode_audio(path, max_duration_s=config.max_duration_s)
        check_audible(samples, path=path, silence_dbfs=config.silence_dbfs)
        duration_s = samples.size / SAMPLE_RATE
        words = get_transcriber(config).transcribe(
            samples,
            language=config.language,
            word_timestamps=config.word_timestamps,
            beam_size=config.decode_beam_size,
            progress=progress,
        )
        if not words:
            raise IngestError(path, "no speech was recognised in the audio")
        if config.word_timestamps:
            words = refine_word_times(words, samples)
        if progress is not None:
            progress(duration_s, duration_s)
        if config.cache_transcripts:
            cache.put(key, duration_s, words)
    return group_words(
        words,
        source=path.name,
        silence_split_s=config.silence_split_s,
        max_segment_s=config.max_segment_s,
    )
