"""Which video codecs exist, their FFmpeg names, the RTP clock, and valid stream settings.

Shared by the encoder and the decoder, and light (no PyAV), so checking a setting or
reading :data:`VIDEO_CLOCK` loads neither.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Final

from contextual_avatar.codecs._config import (
    MAX_VIDEO_BITRATE,
    MIN_VIDEO_BITRATE,
    VideoCodecName,
)
from contextual_avatar.errors import CodecError

__all__ = [
    "DECODERS",
    "ENCODERS",
    "VIDEO_CLOCK",
    "check_geometry",
    "check_video_bitrate",
    "check_video_codec",
]

VIDEO_CLOCK: Final = Fraction(1, 90_000)
"""Time base of every video packet the encoders emit (the RTP video clock)."""

ENCODERS: Final[dict[str, str]] = {"av1": "libsvtav1", "vp9": "libvpx-vp9", "h264": "libx264"}
DECODERS: Final[dict[str, str]] = {"av1": "libdav1d", "vp9": "libvpx-vp9", "h264": "h264"}
_MAX_PIXELS: Final = 7680 * 4320


def check_video_codec(name: str) -> VideoCodecName:
    """Validate a video codec name.

    Args:
        name: ``"av1"``, ``"vp9"`` or ``"h264"``.

    Returns:
        The name, typed.

    Raises:
        CodecError: Unknown codec.
    """
    if name not in ENCODERS:
        raise CodecError(f"unknown video codec {name!r}; choose one of {sorted(ENCODERS)}")
    return name  # type: ignore[return-value]


def check_video_bitrate(bps: int) -> int:
    """Return ``bps`` if it is an int within the video range, else raise :class:`CodecError`."""
    if isinstance(bps, bool) or not isinstance(bps, int):
        raise CodecError(f"bitrate must be an int in bits/s, got {bps!r}")
    if not MIN_VIDEO_BITRATE <= bps <= MAX_VIDEO_BITRATE:
        raise CodecError(
            f"video bitrate {bps} bit/s is outside [{MIN_VIDEO_BITRATE}, {MAX_VIDEO_BITRATE}]"
        )
    return bps


def check_geometry(width: int, height: int, fps: int) -> None:
    """Raise :class:`CodecError` unless ``width`` x ``height`` at ``fps`` can be encoded."""
    if width <= 0 or height <= 0 or width * height > _MAX_PIXELS:
        raise CodecError(f"video size {width}x{height} is out of range")
    if width % 2 or height % 2:
        raise CodecError(f"odd video size {width}x{height}: yuv420p needs even dimensions")
    if width < 16 or height < 16:
        raise CodecError(f"video size {width}x{height} is below the 16x16 minimum")
    if not 1 <= fps <= 120:
        raise CodecError(f"frame rate {fps} is outside [1, 120]")
