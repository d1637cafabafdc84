"""The whisper model: which checkpoint to load, loading it once, and running it.

openai-whisper and torch are imported when a :class:`WhisperTranscriber` is created,
never at import. A CTranslate2 model named in the settings is converted to a whisper
checkpoint once (:mod:`._whisper_convert`); loaded models are kept per process
(:func:`get_transcriber`) because loading costs seconds.
"""

from __future__ import annotations

import hashlib
import importlib
import threading
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from contextual_avatar.errors import MissingDependencyError, ModelError
from contextual_avatar.ingest._media import SAMPLE_RATE
from contextual_avatar.ingest._transcribe_cache import cache_dir
from contextual_avatar.ingest._transcribe_config import TranscriptionConfig
from contextual_avatar.ingest._transcribe_words import TimedText, find_untranscribed
from contextual_avatar.ingest._whisper_convert import (
    alignment_heads_dump,
    convert_ctranslate2_whisper,
    default_whisper_checkpoint,
)

__all__ = [
    "WHISPER_PIN",
    "ProgressFn",
    "WhisperTranscriber",
    "checkpoint_id",
    "get_transcriber",
    "resolve_checkpoint",
]

ProgressFn = Callable[[float, float], None]

#: The openai-whisper release this module is written against (installed with --no-deps).
WHISPER_PIN = "openai-whisper==20250625"
_FINGERPRINT_BYTES = 4 << 20


def resolve_checkpoint(config: TranscriptionConfig) -> Path:
    """The openai-whisper checkpoint ``config`` names, converting CTranslate2 models once.

    Args:
        config: ``model`` is ``None`` (bundled tiny.en), a ``.pt`` checkpoint, or a
            CTranslate2 model folder.

    Returns:
        Path of a checkpoint ``whisper.load_model`` reads.
    """
    folder = cache_dir(config)
    model = config.model
    if model is None:
        return default_whisper_checkpoint(folder)
    if model.is_dir():
        bin_path = model / "model.bin"
        if not bin_path.is_file():
            raise ModelError(f"{model} is a folder without a CTranslate2 model.bin")
        stat = bin_path.stat()
        tag = f"{bin_path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
        dst = folder / f"ct2-{hashlib.sha256(tag.encode()).hexdigest()[:16]}.pt"
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


def checkpoint_id(checkpoint: Path) -> str:
    """``name:fingerprint`` of a checkpoint: part of the transcript cache key.

    Why: a retrained or re-converted model under the same file name must not reuse the
    old model's transcripts, and hashing a multi-GB file on every ingest is too slow.
    """
    return f"{checkpoint.name}:{_fingerprint(checkpoint)}"


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
        self.model_id = checkpoint_id(self.checkpoint)
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
            beam_size: Beam width at temperature 0 (also the number of samples drawn when
                whisper falls back to a higher temperature); ``None`` or 1 is greedy.
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
        if beam_size is not None and beam_size > 1:
            # whisper uses beam_size at temperature 0 and best_of when it falls back to
            # sampling (t > 0), dropping the other one per attempt; as in its CLI, both 5.
            options["beam_size"] = beam_size
            options["best_of"] = beam_size
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
