"""Helpers that make real test media: espeak-ng speech muxed with PyAV into any container.

Plain functions (not fixtures) so each test module builds what it needs in its own
fixtures; nothing here is mocked, every file is a real encode.
"""

from __future__ import annotations

import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import pytest

SR = 16_000

# container suffix -> (format name, audio codec, video codec or None)
FORMATS: dict[str, tuple[str, str, str | None]] = {
    ".mp4": ("mp4", "aac", "libx264"),
    ".mkv": ("matroska", "libopus", "libvpx-vp9"),
    ".webm": ("webm", "libopus", "libvpx"),
    ".mov": ("mov", "aac", "libx264"),
    ".mp3": ("mp3", "libmp3lame", None),
    ".m4a": ("ipod", "aac", None),
    ".wav": ("wav", "pcm_s16le", None),
    ".ogg": ("ogg", "libopus", None),
    ".opus": ("opus", "libopus", None),
    ".flac": ("flac", "flac", None),
}


def need_espeak() -> str:
    exe = shutil.which("espeak-ng")
    if exe is None:
        pytest.skip("espeak-ng is not installed (bash scripts/system-deps.sh)")
    return exe


def speak(text: str, *, speed: int = 150, voice: str = "en-us+f2") -> npt.NDArray[np.float32]:
    """Speak ``text`` with espeak-ng; return 16 kHz mono float32 samples."""
    exe = need_espeak()
    raw = subprocess.run(
        [exe, "-v", voice, "-s", str(speed), "--stdout", text],
        check=True,
        capture_output=True,
    ).stdout
    tmp = Path(
        subprocess.run(["mktemp"], check=True, capture_output=True, text=True).stdout.strip()
    )
    try:
        tmp.write_bytes(raw)
        return read_audio(tmp)
    finally:
        tmp.unlink(missing_ok=True)


def read_audio(path: Path) -> npt.NDArray[np.float32]:
    """Decode a file to 16 kHz mono float32 with PyAV (test side, independent of the SDK)."""
    with av.open(str(path)) as container:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SR)
        parts = [
            out.to_ndarray().reshape(-1)
            for frame in container.decode(audio=0)
            for out in resampler.resample(frame)
        ]
        parts += [out.to_ndarray().reshape(-1) for out in resampler.resample(None)]
    return np.concatenate(parts).astype(np.float32)


def silence(seconds: float) -> npt.NDArray[np.float32]:
    return np.zeros(round(seconds * SR), dtype=np.float32)


def speech_bounds(
    samples: npt.NDArray[np.float32], *, threshold: float = 0.01
) -> tuple[float, float]:
    """First and last moment (seconds) the signal rises above ``threshold``."""
    loud = np.flatnonzero(np.abs(samples) > threshold)
    return loud[0] / SR, (loud[-1] + 1) / SR


def write_media(
    path: Path,
    samples: npt.NDArray[np.float32],
    *,
    video: bool = True,
    audio: bool = True,
    faststart: bool = False,
) -> Path:
    """Encode ``samples`` (16 kHz mono) into ``path``; container and codecs follow the suffix.

    Video, where the container has one, is a small moving gradient at 10 fps.
    """
    fmt, acodec, vcodec = FORMATS[path.suffix]
    options = {"movflags": "faststart"} if faststart else {}
    duration = samples.size / SR
    with av.open(str(path), mode="w", format=fmt, options=options) as out:
        vstream = None
        if video and vcodec is not None:
            vstream = out.add_stream(vcodec, rate=10)
            vstream.width, vstream.height, vstream.pix_fmt = 64, 48, "yuv420p"
        astream = None
        if audio:
            rate = 48_000 if "opus" in acodec else 16_000 if acodec == "flac" else 44_100
            if acodec in ("pcm_s16le",):
                rate = SR
            astream = out.add_stream(acodec, rate=rate)
            astream.layout = "mono"
        if vstream is not None:
            for i in range(max(1, int(duration * 10))):
                img = np.full((48, 64, 3), (i * 7) % 255, dtype=np.uint8)
                img[:, : (i % 64)] = 200
                frame = av.VideoFrame.from_ndarray(img, format="rgb24")
                frame.pts = i
                frame.time_base = Fraction(1, 10)
                out.mux(vstream.encode(frame))
            out.mux(vstream.encode(None))
        if astream is not None:
            pcm = (np.clip(samples, -1, 1) * 32767).astype(np.int16)
            block = 1024
            for start in range(0, pcm.size, block):
                chunk = pcm[start : start + block]
                frame = av.AudioFrame.from_ndarray(
                    chunk.reshape(1, -1), format="s16", layout="mono"
                )
                frame.sample_rate = SR
                frame.pts = start
                frame.time_base = Fraction(1, SR)
                for packet in astream.encode(frame):
                    out.mux(packet)
            out.mux(astream.encode(None))
    return path
