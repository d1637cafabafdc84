"""Video decoders (dav1d for AV1, libvpx VP9, FFmpeg's h264) over PyAV.

The receiving side of :class:`~contextual_avatar.codecs.VideoEncoder`: kept apart so
a sender never loads it and the encoder module stays one idea.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from contextual_avatar.codecs._av import av_errors, require_av
from contextual_avatar.codecs._config import VideoCodecName
from contextual_avatar.codecs._video_codecs import DECODERS, check_video_codec

if TYPE_CHECKING:
    import av

__all__ = ["VideoDecoder"]


class VideoDecoder:
    """Decoder for packets from :class:`VideoEncoder` (AV1 through dav1d)."""

    def __init__(self, codec: VideoCodecName = "av1", *, threads: int = 1) -> None:
        """Create the decoder.

        Args:
            codec: ``"av1"``, ``"vp9"`` or ``"h264"``.
            threads: Decoder threads; 1 keeps every frame's latency at one packet.

        Raises:
            CodecError: Unknown codec.
        """
        avm = require_av()
        self._codec = check_video_codec(codec)
        name = DECODERS[self._codec]
        with av_errors(f"opening {name}"):
            self._ctx = avm.CodecContext.create(name, "r")
            self._ctx.thread_count = threads
            if self._codec == "av1":
                self._ctx.options = {"max_frame_delay": "1"}

    @property
    def codec(self) -> VideoCodecName:
        """The codec name."""
        return self._codec

    def decode(self, packet: av.Packet[Any] | None) -> list[av.VideoFrame]:
        """Decode one packet (None flushes).

        Args:
            packet: A packet from the matching encoder, or None at end of stream.

        Returns:
            Decoded frames (``yuv420p``), usually one per packet.

        Raises:
            CodecError: The bitstream is corrupt or does not match the codec.
        """
        with av_errors(f"decoding {self._codec}"):
            frames: list[av.VideoFrame] = list(self._ctx.decode(packet))
        return frames
