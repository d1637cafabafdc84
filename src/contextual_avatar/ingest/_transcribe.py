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
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import tempfile
import threading
import types
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from contextual_avatar.errors import IngestError, MissingDependencyError, ModelError
from contextual_avatar.ingest._media import SAMPLE_RATE, check_audible, decode_audio, file_sha256
from contextual_avatar.ingest._transcribe_config import TranscriptionConfig
from contextual_avatar.ingest._whisper_convert import (
    alignment_heads_dump,
    convert_ctranslate2_whisper,
    default_whisper_checkpoint,
)
from contextual_avatar.types import Segment, SourceRef

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

ProgressFn = Callable[[float, float], None]

#: The openai-whisper release this module is written against (installed with --no-deps).
WHISPER_PIN = "openai-whisper==20250625"
# Bump when the cached transcript format or the decoding recipe changes.
_CACHE_VERSION = 2
_SENTENCE_END = (".", "?", "!", "…")
_FINGERPRINT_BYTES = 4 << 20
# Word-edge refinement (see refine_word_times).
_REFINE_RELATIVE_DB = -35.0
_REFINE_FLOOR_DB = -55.0
_REFINE_MARGIN_S = 0.02
# Second-pass detection of speech whisper skipped (see find_untranscribed).
_MISSED_LEVEL_DB = -30.0
_MISSED_MIN_S = 0.5


@dataclass(frozen=True, slots=True)
class TimedText:
    """A word (or, without word timestamps, a whisper segment) with its time span.

    Parameters:
        text: The text as whisper wrote it, leading space included.
        start_s: Start in seconds from the beginning of the recording.
        end_s: End in seconds.
    """

    text: str
    start_s: float
    end_s: float


def default_cache_dir() -> Path:
    """The per-user cache folder for converted models and transcripts."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("contextual-avatar")) / "whisper"


def _cache_dir(config: TranscriptionConfig) -> Path:
    return config.cache_dir if config.cache_dir is not None else default_cache_dir()


def resolve_checkpoint(config: TranscriptionConfig) -> Path:
    """The openai-whisper checkpoint ``config`` names, converting CTranslate2 models once.

    Args:
        config: ``model`` is ``None`` (bundled tiny.en), a ``.pt`` checkpoint, or a
            CTranslate2 model folder.

    Returns:
        Path of a checkpoint ``whisper.load_model`` reads.
    """
    cache_dir = _cache_dir(config)
    model = config.model
    if model is None:
        return default_whisper_checkpoint(cache_dir)
    if model.is_dir():
        bin_path = model / "model.bin"
        if not bin_path.is_file():
            raise ModelError(f"{model} is a folder without a CTranslate2 model.bin")
        stat = bin_path.stat()
        tag = f"{bin_path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
        dst = cache_dir / f"ct2-{hashlib.sha256(tag.encode()).hexdigest()[:16]}.pt"
        if not dst.is_file():
            convert_ctranslate2_whisper(model, dst)
        return dst
    return model


def _fingerprint(path: Path) -> str:
    """A cheap identity for a (possibly multi-GB) checkpoint: size plus head and tail bytes."""
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with path.open("rb") as fh:
        digest.update(fh.read(_FINGERPRINT_BYTES))
        if size > _FINGERPRINT_BYTES:
            fh.seek(max(_FINGERPRINT_BYTES, size - _FINGERPRINT_BYTES))
            digest.update(fh.read(_FINGERPRINT_BYTES))
    return digest.hexdigest()[:16]


class _ProgressBar:
    """Stands in for ``tqdm.tqdm`` inside ``whisper.transcribe``; reports seconds done."""

    def __init__(self, report: ProgressFn, total_s: float, **_: Any) -> None:
        self._report = report
        self._total_s = total_s
        self._frames = 0

    def __enter__(self) -> _ProgressBar:
        self._report(0.0, self._total_s)
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, frames: int) -> None:
        # whisper counts mel frames: 100 per second of audio.
        self._frames += frames
        self._report(min(self._frames / 100.0, self._total_s), self._total_s)


class WhisperTranscriber:
    """One loaded whisper model; transcribes float32 16 kHz audio into timed words.

    Thread-safe: calls are serialised on the model (it is not re-entrant).
    """

    def __init__(self, checkpoint: Path, *, threads: int | None = None) -> None:
        """Load ``checkpoint`` on the CPU.

        Args:
            checkpoint: An openai-whisper checkpoint (see :func:`resolve_checkpoint`).
            threads: torch CPU threads while transcribing; ``None`` keeps torch's setting.

        Raises:
            MissingDependencyError: openai-whisper or torch is missing.
            ModelError: The checkpoint cannot be loaded.
        """
        try:
            import torch
            import whisper
        except ImportError as exc:
            missing = MissingDependencyError("transcription", "whisper", "openai-whisper")
            # whisper is installed without its GPU-only triton dependency; say how.
            missing.args = (f"{missing.args[0]}, then pip install --no-deps {WHISPER_PIN}",)
            raise missing from exc
        self.checkpoint = Path(checkpoint)
        self.model_id = f"{self.checkpoint.name}:{_fingerprint(self.checkpoint)}"
        self._threads = threads
        self._lock = threading.Lock()
        try:
            self._model = whisper.load_model(str(self.checkpoint), device="cpu")
            raw = torch.load(self.checkpoint, map_location="cpu", weights_only=True, mmap=True)
        except Exception as exc:
            raise ModelError(f"cannot load whisper checkpoint {self.checkpoint}: {exc}") from exc
        heads = raw.get("alignment_heads") if isinstance(raw, dict) else None
        if heads:
            dims = self._model.dims
            self._model.set_alignment_heads(
                alignment_heads_dump(
                    heads, n_text_layer=dims.n_text_layer, n_text_head=dims.n_text_head
                )
            )
        self.is_multilingual = bool(self._model.is_multilingual)

    @contextmanager
    def _threads_set(self) -> Iterator[None]:
        import torch

        if self._threads is None:
            yield
            return
        before = torch.get_num_threads()
        torch.set_num_threads(self._threads)
        try:
            yield
        finally:
            torch.set_num_threads(before)

    @contextmanager
    def _progress(self, report: ProgressFn | None, total_s: float) -> Iterator[None]:
        """Route whisper's tqdm bar to ``report`` for the duration of one call.

        Why: whisper exposes progress only through ``tqdm``; swapping the module name its
        loop looks up (under this transcriber's lock) gives seconds-done callbacks without
        re-implementing its sliding-window loop.
        """
        if report is None:
            yield
            return
        # ``whisper.transcribe`` the attribute is the function; the module is in sys.modules.
        wt = importlib.import_module("whisper.transcribe")
        original = getattr(wt, "tqdm")  # noqa: B009
        shim = types.SimpleNamespace(
            tqdm=lambda *a, **k: _ProgressBar(report, total_s, **k),
        )
        setattr(wt, "tqdm", shim)  # noqa: B010
        try:
            yield
        finally:
            setattr(wt, "tqdm", original)  # noqa: B010

    def transcribe(
        self,
        samples: npt.NDArray[np.float32],
        *,
        language: str = "en",
        word_timestamps: bool = True,
        beam_size: int | None = None,
        progress: ProgressFn | None = None,
    ) -> list[TimedText]:
        """Transcribe 16 kHz mono audio.

        Args:
            samples: float32 samples in ``[-1, 1]``.
            language: Spoken language code.
            word_timestamps: Return one item per word with aligned times; else one per
                whisper segment.
            beam_size: Beam width, ``None`` for greedy decoding.
            progress: ``progress(seconds_done, seconds_total)`` while decoding.

        Returns:
            Timed words (or segments) in order.

        Raises:
            ModelError: whisper failed.
        """
        total_s = samples.size / SAMPLE_RATE
        options: dict[str, Any] = {
            "language": language if self.is_multilingual else "en",
            "fp16": False,
            "word_timestamps": word_timestamps,
        }
        if beam_size is not None:
            options["beam_size"] = beam_size
        audio = np.ascontiguousarray(samples, dtype=np.float32)
        with self._lock, self._threads_set():
            with self._progress(progress, total_s):
                out = self._run(audio, options, verbose=progress is not None)
            # Second pass over speech the first one skipped (see find_untranscribed).
            missed = find_untranscribed(out, audio) if word_timestamps else []
            if missed:
                clips = [t for start, end in missed for t in (start, end)]
                extra = self._run(audio, {**options, "clip_timestamps": clips}, verbose=False)
                extra = [w for w in extra if any(s - 0.5 <= w.start_s <= e for s, e in missed)]
                out = sorted([*out, *extra], key=lambda w: (w.start_s, w.end_s))
        return out

    def _run(
        self, audio: npt.NDArray[np.float32], options: dict[str, Any], *, verbose: bool
    ) -> list[TimedText]:
        try:
            result = self._model.transcribe(audio, verbose=False if verbose else None, **options)
        except Exception as exc:
            raise ModelError(f"whisper failed: {exc}") from exc
        out: list[TimedText] = []
        previous = ""
        for seg in result.get("segments", []):
            text = str(seg["text"]).strip()
            # tiny models sometimes repeat the last sentence at the end of a window
            if not text or text == previous:
                continue
            previous = text
            if options["word_timestamps"]:
                out.extend(
                    TimedText(str(w["word"]), float(w["start"]), float(w["end"]))
                    for w in seg.get("words", [])
                    if str(w["word"]).strip()
                )
            else:
                out.append(TimedText(str(seg["text"]), float(seg["start"]), float(seg["end"])))
        return out

    def warm_up(self) -> None:
        """Run one short transcription so numba compiles the word-alignment code now.

        The first call with word timestamps spends a few seconds compiling; call this at
        start-up when the first real request must be fast.
        """
        rng = np.random.default_rng(0)
        noise = (rng.standard_normal(SAMPLE_RATE) * 0.05).astype(np.float32)
        self.transcribe(noise, word_timestamps=True)


_TRANSCRIBERS: dict[tuple[Path, int | None], WhisperTranscriber] = {}
_TRANSCRIBERS_LOCK = threading.Lock()


def get_transcriber(config: TranscriptionConfig) -> WhisperTranscriber:
    """The process-wide transcriber for ``config``'s model, loaded on first use."""
    checkpoint = resolve_checkpoint(config).resolve()
    key = (checkpoint, config.threads)
    with _TRANSCRIBERS_LOCK:
        found = _TRANSCRIBERS.get(key)
        if found is None:
            found = WhisperTranscriber(checkpoint, threads=config.threads)
            _TRANSCRIBERS[key] = found
        return found


class TranscriptCache:
    """Transcripts on disk, one JSON file per (recording content, model, settings)."""

    def __init__(self, directory: Path) -> None:
        """Keep cache files in ``directory`` (created on first write)."""
        self.directory = Path(directory)

    @staticmethod
    def key(content_sha256: str, model_id: str, config: TranscriptionConfig) -> str:
        """Cache key: everything that changes whisper's output, nothing that does not."""
        parts = [
            f"v{_CACHE_VERSION}",
            content_sha256,
            model_id,
            config.language,
            str(config.word_timestamps),
            str(config.beam_size),
        ]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> tuple[float, list[TimedText]] | None:
        """``(duration_s, words)`` for ``key``, or ``None`` if absent or unreadable."""
        path = self._path(key)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            words = [TimedText(**w) for w in data["words"]]
            return float(data["duration_s"]), words
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, key: str, duration_s: float, words: Sequence[TimedText]) -> None:
        """Store atomically (write a temporary file, then rename)."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = json.dumps({"duration_s": duration_s, "words": [asdict(w) for w in words]})
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(payload)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _frame_levels(samples: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    """RMS level of each 10 ms frame."""
    hop = SAMPLE_RATE // 100
    n_frames = samples.size // hop
    frames = samples[: n_frames * hop].reshape(n_frames, hop)
    level: npt.NDArray[np.float64] = np.sqrt(np.mean(np.square(frames, dtype=np.float64), axis=1))
    return level


def find_untranscribed(
    words: Sequence[TimedText],
    samples: npt.NDArray[np.float32],
    *,
    level_db: float = _MISSED_LEVEL_DB,
    min_voiced_s: float = _MISSED_MIN_S,
) -> list[tuple[float, float]]:
    """Loud stretches of audio that no word covers, as ``(start_s, end_s)`` clips.

    Why: whisper sometimes ends a 30 s window after one sentence and jumps past the rest
    of it, silently dropping speech that follows a pause. Clear sound (within
    ``level_db`` of the recording's peak) for at least ``min_voiced_s`` with no word
    near it is sent through whisper again on its own.
    """
    level = _frame_levels(samples)
    if level.size == 0 or float(level.max()) <= 0:
        return []
    voiced = level >= float(level.max()) * 10 ** (level_db / 20)
    covered = np.zeros_like(voiced)
    for w in words:
        covered[max(0, int(w.start_s * 100) - 30) : int(np.ceil(w.end_s * 100)) + 30] = True
    missing = voiced & ~covered
    regions: list[tuple[float, float]] = []
    idx = np.flatnonzero(missing)
    if idx.size == 0:
        return regions
    # runs of missing frames, joined across short (< 0.5 s) dips
    breaks = np.flatnonzero(np.diff(idx) > 50)
    starts = np.concatenate([[idx[0]], idx[breaks + 1]])
    ends = np.concatenate([idx[breaks], [idx[-1]]])
    total_s = samples.size / SAMPLE_RATE
    for a, b in zip(starts, ends, strict=True):
        if int(missing[a : b + 1].sum()) >= min_voiced_s * 100:
            regions.append((max(0.0, a / 100 - 0.3), min(total_s, (b + 1) / 100 + 0.3)))
    return regions


def refine_word_times(
    words: Sequence[TimedText],
    samples: npt.NDArray[np.float32],
    *,
    relative_db: float = _REFINE_RELATIVE_DB,
    floor_db: float = _REFINE_FLOOR_DB,
) -> list[TimedText]:
    """Pull each word's edges in to where there is sound.

    Why: whisper's alignment often stretches a word over neighbouring silence (the first
    word of a window tends to start at the window's start, the last word of a sentence to
    run on into the pause), so citations would start early and end late, and pauses
    would hide. Within each word's span, its start moves to the first 10 ms frame whose
    level is within ``relative_db`` of the loudest frame nearby (and above ``floor_db``
    under the recording's peak); its end to the last such frame. A word with no such
    frame, or audio too noisy to tell, keeps whisper's times.

    Args:
        words: Timed words from whisper.
        samples: The 16 kHz audio they were transcribed from.
        relative_db: Level under the local peak (within 1 s) that still counts as sound.
        floor_db: Level under the whole recording's peak below which nothing is sound.

    Returns:
        Words with the same text and tightened times.
    """
    level = _frame_levels(samples)
    n_frames = level.size
    if n_frames == 0 or not words:
        return list(words)
    peak = float(level.max())
    if peak <= 0:
        return list(words)
    floor = peak * 10 ** (floor_db / 20)
    out: list[TimedText] = []
    for word in words:
        i0 = max(0, int(word.start_s * 100))
        i1 = min(n_frames, int(np.ceil(word.end_s * 100)))
        if i1 <= i0:
            out.append(word)
            continue
        nearby = level[max(0, i0 - 100) : min(n_frames, i1 + 100)]
        threshold = max(float(nearby.max()) * 10 ** (relative_db / 20), floor)
        voiced = np.flatnonzero(level[i0:i1] >= threshold)
        if voiced.size == 0:
            out.append(word)
            continue
        start = max(word.start_s, (i0 + int(voiced[0])) / 100 - _REFINE_MARGIN_S)
        end = min(word.end_s, (i0 + int(voiced[-1]) + 1) / 100 + _REFINE_MARGIN_S)
        out.append(TimedText(word.text, round(start, 3), round(max(end, start), 3)))
    return out


def group_words(
    words: Sequence[TimedText],
    *,
    source: str,
    silence_split_s: float,
    max_segment_s: float,
    speaker: str | None = None,
) -> list[Segment]:
    """Group timed words into sentence-sized segments.

    A segment closes after a word ending a sentence, before a word that follows a pause
    longer than ``silence_split_s``, and before a word that would stretch it past
    ``max_segment_s``. Each segment's time range runs from its first word's start to its
    last word's end.

    Args:
        words: Timed words (or whisper segments) in order.
        source: The display name the citations show.
        silence_split_s: Pause that ends a segment.
        max_segment_s: Longest segment before a forced cut at a word boundary.
        speaker: Speaker for every segment, when known.

    Returns:
        Segments in time order; every word lands in exactly one.
    """
    segments: list[Segment] = []
    current: list[TimedText] = []

    def flush() -> None:
        if not current:
            return
        text = "".join(w.text for w in current).strip()
        start = current[0].start_s
        end = max(current[-1].end_s, start)
        segments.append(
            Segment(
                text=text, ref=SourceRef(source=source, start_s=start, end_s=end, speaker=speaker)
            )
        )
        current.clear()

    for word in words:
        if current and (
            word.start_s - current[-1].end_s > silence_split_s
            or word.end_s - current[0].start_s > max_segment_s
        ):
            flush()
        current.append(word)
        if word.text.rstrip().endswith(_SENTENCE_END):
            flush()
    flush()
    return segments


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
    model_id = f"{checkpoint.name}:{_fingerprint(checkpoint)}"
    cache = TranscriptCache(_cache_dir(config) / "transcripts")
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
            beam_size=config.beam_size,
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
