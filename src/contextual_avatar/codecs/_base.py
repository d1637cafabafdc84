"""The :class:`MediaCodec` protocol every encoder implements.

An encoder turns frames into packets and can be retargeted mid-stream. Contract:

* ``encode(frame)`` takes one frame (PyAV frame or numpy array) and returns the packets
  that became ready, possibly none (encoders may buffer) and possibly several.
* ``set_bitrate(bps)`` takes effect on the next frame. Implementations whose FFmpeg
  wrapper reads the bitrate only at open (SVT-AV1, libvpx, libopus) reopen the
  encoder; a video reopen starts with a keyframe. Output timestamps stay continuous.
* ``flush()`` drains buffered packets at the end of a stream; the encoder can be used
  again afterwards (it reopens on the next frame).
* ``close()`` releases the FFmpeg context; the owner of the encoder calls it.

Packet timestamps are in ``time_base`` units (1/90000 s for video, the RTP video
clock; 1/48000 s for Opus). :class:`~contextual_avatar.testing.MediaCodecContract` checks
an encoder against this contract.
"""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    import av
    import numpy as np

__all__ = ["MediaCodec", "MediaKind"]

MediaKind = Literal["video", "audio"]


@runtime_checkable
class MediaCodec(Protocol):
    """An encoder for one media stream (see the module docstring for the contract)."""

    @property
    def kind(self) -> MediaKind:
        """``"video"`` or ``"audio"``."""
        ...

    @property
    def bitrate(self) -> int:
        """Current target bitrate in bits/s."""
        ...

    @property
    def time_base(self) -> Fraction:
        """Unit of output packet timestamps."""
        ...

    def encode(
        self, frame: av.VideoFrame | av.AudioFrame | np.ndarray[Any, Any]
    ) -> list[av.Packet[Any]]:
        """Encode one frame; return the packets that are ready."""
        ...

    def set_bitrate(self, bps: int) -> None:
        """Retarget the encoder to ``bps`` bits/s from the next frame on."""
        ...

    def flush(self) -> list[av.Packet[Any]]:
        """Drain and return every buffered packet."""
        ...

    def close(self) -> None:
        """Release the encoder."""
        ...
