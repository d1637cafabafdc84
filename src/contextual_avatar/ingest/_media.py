"""Decode any audio or video file PyAV reads into 16 kHz mono float32 samples.

There is no ``ffmpeg`` binary on the target machines, so ``whisper.load_audio`` cannot be
used; PyAV's bundled FFmpeg libraries decode and resample instead. Every way a file can
be unusable ends in an :class:`~contextual_avatar.errors.IngestError` that names the file
and says why: missing, empty, not media, no audio track, a codec with no decoder,
truncated or corrupt data, too long, zero-length or silent audio.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from contextual_avatar.errors import IngestError, MissingDependencyError

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "MEDIA_SUFFIXES",
    "SAMPLE_RATE",
    "check_audible",
    "decode_audio",
    "file_sha256",
]

#: Whisper's input rate; every decoded file is resampled to it.
SAMPLE_RATE = 16_000

#: File suffixes the ingest dispatch routes to :func:`load_media`.
MEDIA_SUFFIXES: frozenset[str] = frozenset(
    {
        ".mp4",
        ".m4v",
        ".mkv",
        ".webm",
        ".mov",
        ".avi",
        ".mp3",
        ".m4a",
        ".aac",
        ".wav",
        ".ogg",
        ".oga",
        ".opus",
        ".flac",
        ".wma",
        ".3gp",
    }
)

# A container that declares this much more audio than it delivers was cut short.
_TRUNCATION_TOLERANCE_S = 0.5
_TRUNCATION_TOLERANCE_RATIO = 0.02


def file_sha256(path: Path, *, chunk_size: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        while block := fh.read(chunk_size):
            digest.update(block)
    return digest.hexdigest()


def _import_av() -> Any:
    try:
        import av
    except ImportError as exc:
        raise MissingDependencyError("audio/video ingest", "whisper", "av") from exc
    return av


def _declared_duration(container: Any, stream: Any) -> float | None:
    """Duration the container promises for ``stream``, in seconds, if it says."""
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return float(container.duration) / 1_000_000
    return None


def decode_audio(
    path: Path,
    *,
    max_duration_s: float,
    progress: Callable[[float, float], None] | None = None,
) -> npt.NDArray[np.float32]:
    """Decode the first audio track of ``path`` to 16 kHz mono float32 in ``[-1, 1]``.

    Args:
        path: Any container/codec PyAV decodes (mp4, mkv, webm, mov, mp3, m4a, wav, ogg,
            opus, flac, ...). Video tracks are ignored.
        max_duration_s: Refuse recordings longer than this (checked before decoding when
            the container declares a duration, and while decoding otherwise).
        progress: Called as ``progress(seconds_decoded, seconds_total)`` now and then.

    Returns:
        The samples, one channel.

    Raises:
        IngestError: The file is missing, empty, not media, has no audio track, uses a
            codec with no decoder, is truncated or corrupt, or is too long.
        MissingDependencyError: PyAV is not installed.
    """
    path = Path(path)
    if not path.is_file():
        raise IngestError(path, "the file does not exist")
    if path.stat().st_size == 0:
        raise IngestError(path, "the file is empty (0 bytes)")
    av = _import_av()
    try:
        container = av.open(str(path), mode="r", metadata_errors="ignore")
    except av.error.FFmpegError as exc:
        raise IngestError(
            path,
            "cannot open it as audio or video: not a media file, or a truncated or corrupt "
            f"container ({exc.strerror or exc})",
        ) from exc
    with container:
        if not container.streams.audio:
            if container.streams.video:
                raise IngestError(path, "the video has no audio track")
            raise IngestError(path, "not an audio or video file: no audio or video stream found")
        stream = container.streams.audio[0]
        codec = stream.codec_context
        if codec is None or codec.codec is None or codec.name in ("", "none"):
            raise IngestError(path, "the audio track uses an unknown codec that cannot be decoded")
        declared = _declared_duration(container, stream)
        if declared is not None and declared > max_duration_s:
            raise IngestError(
                path,
                f"the recording is {declared:.0f} s long; the limit is {max_duration_s:.0f} s "
                "(transcription.max_duration_s)",
            )
        samples = _decode_stream(
            av,
            container,
            stream,
            path=path,
            max_duration_s=max_duration_s,
            declared=declared,
            progress=progress,
        )
    decoded_s = samples.size / SAMPLE_RATE
    if samples.size == 0:
        raise IngestError(path, "the audio track is empty (0 seconds of sound)")
    cut = _stream_format_truncation(path)
    if cut is not None:
        raise IngestError(path, f"the file is truncated: {cut}")
    if declared is not None and declared - decoded_s > max(
        _TRUNCATION_TOLERANCE_S, _TRUNCATION_TOLERANCE_RATIO * declared
    ):
        raise IngestError(
            path,
            f"the file is truncated: the container declares {declared:.1f} s of audio "
            f"but only {decoded_s:.1f} s could be decoded",
        )
    return samples


def _decode_stream(
    av: Any,
    container: Any,
    stream: Any,
    *,
    path: Path,
    max_duration_s: float,
    declared: float | None,
    progress: Callable[[float, float], None] | None,
) -> npt.NDArray[np.float32]:
    resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
    pieces: list[npt.NDArray[np.float32]] = []
    total = 0
    limit = int(max_duration_s * SAMPLE_RATE)
    report_every = 60 * SAMPLE_RATE
    next_report = report_every
    try:
        for frame in container.decode(stream):
            frame.pts = None  # let the resampler count samples; broken pts must not matter
            for out in resampler.resample(frame):
                block = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
                pieces.append(block)
                total += block.size
            if total > limit:
                raise IngestError(
                    path,
                    f"the recording is longer than the limit of {max_duration_s:.0f} s "
                    "(transcription.max_duration_s)",
                )
            if progress is not None and total >= next_report:
                progress(total / SAMPLE_RATE, declared or total / SAMPLE_RATE)
                next_report += report_every
        for out in resampler.resample(None):
            pieces.append(out.to_ndarray().reshape(-1).astype(np.float32, copy=False))
    except av.error.FFmpegError as exc:
        raise IngestError(
            path,
            f"corrupt or truncated media data after {total / SAMPLE_RATE:.1f} s "
            f"({exc.strerror or exc})",
        ) from exc
    except (ValueError, RuntimeError) as exc:
        raise IngestError(path, f"the audio track cannot be decoded ({exc})") from exc
    if not pieces:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate(pieces)


def _stream_format_truncation(path: Path) -> str | None:
    """Detect a cut-off WAV or Ogg file, which FFmpeg decodes without complaint.

    Why: neither format has a duration FFmpeg trusts; a WAV header states its data size,
    and an Ogg stream's last page carries an end-of-stream flag, so both can be checked.
    """
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(12)
        if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
            pos = 12
            while pos + 8 <= size:
                fh.seek(pos)
                chunk = fh.read(8)
                chunk_size = int.from_bytes(chunk[4:8], "little")
                if chunk[:4] == b"data":
                    have = size - pos - 8
                    # 0 and 0xFFFFFFFF mean "unknown" (streamed WAV); nothing to compare.
                    if 0 < chunk_size < 0xFFFFFFFF and have < chunk_size:
                        return f"the WAV header declares {chunk_size} bytes of audio, {have} remain"
                    return None
                pos += 8 + chunk_size + (chunk_size & 1)
            return None
        if head[:4] == b"OggS":
            tail_len = min(size, 1 << 16)
            fh.seek(size - tail_len)
            tail = fh.read(tail_len)
            last = tail.rfind(b"OggS")
            if last < 0 or last + 27 > len(tail):
                return "the last Ogg page is incomplete"
            header_type = tail[last + 5]
            n_segments = tail[last + 26]
            table = tail[last + 27 : last + 27 + n_segments]
            page_end = last + 27 + n_segments + sum(table)
            if len(table) < n_segments or page_end > len(tail):
                return "the last Ogg page is incomplete"
            if not header_type & 0x04:
                return "the Ogg stream has no end-of-stream page"
    return None


def check_audible(samples: npt.NDArray[np.float32], *, path: Path, silence_dbfs: float) -> None:
    """Refuse audio whose peak never rises above ``silence_dbfs``.

    Why: whisper, given pure silence, hallucinates short phrases ("you", "Thank you.")
    that would be indexed as if someone had said them.

    Raises:
        IngestError: The recording is silent.
    """
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    level = 20 * math.log10(peak) if peak > 0 else -math.inf
    if level < silence_dbfs:
        shown = "-inf" if math.isinf(level) else f"{level:.0f}"
        raise IngestError(
            path,
            f"the audio is silent (peak level {shown} dBFS, threshold {silence_dbfs:.0f} dBFS)",
        )
