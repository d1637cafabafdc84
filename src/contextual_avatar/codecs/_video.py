"""Video encoders (SVT-AV1, libvpx VP9, x264) over PyAV; decoders are in :mod:`._video_decoder`.

Real-time settings measured on this project's machines (see DESIGN.md): SVT-AV1 runs
low-delay CBR with ``rtc=1:pred-struct=1:rc=2``; VP9 ``deadline=realtime``,
``lag-in-frames=0``; x264 ``tune=zerolatency`` with ``maxrate``/``bufsize`` equal to the
target (a strict VBV so a new target holds within a frame or two).

FFmpeg's SVT-AV1 and libvpx wrappers read ``bit_rate`` only when the encoder opens, and
x264's in-place retarget takes about 1.3 s to settle. So :meth:`VideoEncoder.set_bitrate`
reopens the encoder for every codec: it costs 1-9 ms and one keyframe, and timestamps
continue where they left off. Callers that retarget often (the bitrate controller)
should apply hysteresis; :class:`~contextual_avatar.codecs.AdaptiveSender` does.
"""

from __future__ import annotations

import contextlib
import math
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Literal

from contextual_avatar.codecs._av import av_errors, require_av
from contextual_avatar.codecs._config import (
    DEFAULT_FPS,
    DEFAULT_HEIGHT,
    DEFAULT_KEYFRAME_INTERVAL_S,
    DEFAULT_THREADS,
    DEFAULT_VIDEO_BITRATE,
    DEFAULT_VP9_CPU_USED,
    DEFAULT_WIDTH,
    DEFAULT_X264_PRESET,
    CodecConfig,
    VideoCodecName,
    svt_preset_for,
)
from contextual_avatar.codecs._frames import to_video_frame
from contextual_avatar.codecs._video_codecs import (
    ENCODERS,
    VIDEO_CLOCK,
    check_geometry,
    check_video_bitrate,
    check_video_codec,
)
from contextual_avatar.errors import CodecError

if TYPE_CHECKING:
    import av
    import numpy as np

__all__ = ["VideoEncoder"]


class VideoEncoder:
    """A real-time video encoder for one stream.

    Example:
        >>> enc = VideoEncoder("av1", width=640, height=360, fps=30, bitrate=500_000)
        >>> packets = enc.encode(rgb_array)        # (360, 640, 3) uint8
        >>> enc.set_bitrate(250_000)               # reopens, next packet is a keyframe
        >>> packets += enc.flush()
    """

    def __init__(
        self,
        codec: VideoCodecName = "av1",
        *,
        width: int = DEFAULT_WIDTH,
        height: int = DEFAULT_HEIGHT,
        fps: int = DEFAULT_FPS,
        bitrate: int = DEFAULT_VIDEO_BITRATE,
        svt_preset: int | None = None,
        vp9_cpu_used: int = DEFAULT_VP9_CPU_USED,
        vp9_error_resilient: bool = True,
        x264_preset: str = DEFAULT_X264_PRESET,
        keyframe_interval_s: float = DEFAULT_KEYFRAME_INTERVAL_S,
        threads: int = DEFAULT_THREADS,
        resize: bool = False,
        temporal_layers: bool = True,
    ) -> None:
        """Create the encoder (the FFmpeg context opens on the first frame).

        Args:
            codec: ``"av1"``, ``"vp9"`` or ``"h264"``.
            width: Encoded width (even, >= 16).
            height: Encoded height (even, >= 16).
            fps: Encoded frame rate; one input frame is one 1/fps tick.
            bitrate: Target bitrate in bits/s.
            svt_preset: SVT-AV1 preset, 0-13; ``None`` picks it from the current frame size
                (:func:`svt_preset_for`), so a move up the ladder to 720p stays real-time.
            vp9_cpu_used: libvpx real-time speed, 0-9.
            vp9_error_resilient: libvpx error-resilient mode (frames decodable after a
                loss without the previous frame's probability context); costs VP9 about
                2-4 % bits at equal PSNR on the benchmark clips.
            x264_preset: x264 speed preset.
            keyframe_interval_s: Seconds between periodic keyframes.
            threads: Encoder threads.
            resize: Scale input frames of another size instead of rejecting them.
            temporal_layers: SVT-AV1's low-delay hierarchy (every 4th frame a base-layer
                frame coded 3-5x larger than the mean, see :meth:`set_temporal_layers`);
                False codes a flat IPPP chain. VP9 and x264 are always flat here.

        Raises:
            CodecError: Unknown codec or an invalid setting.
        """
        require_av()
        self._codec = check_video_codec(codec)
        check_geometry(width, height, fps)
        if svt_preset is not None and not 0 <= svt_preset <= 13:
            raise CodecError(f"svt_preset must be 0-13, got {svt_preset}")
        if not 0 <= vp9_cpu_used <= 9:
            raise CodecError(f"vp9_cpu_used must be 0-9, got {vp9_cpu_used}")
        if not keyframe_interval_s > 0:
            raise CodecError(f"keyframe_interval_s must be positive, got {keyframe_interval_s}")
        if threads < 1:
            raise CodecError(f"threads must be >= 1, got {threads}")
        self._width = width
        self._height = height
        self._fps = fps
        self._bitrate = check_video_bitrate(bitrate)
        self._svt_preset = svt_preset
        self._vp9_cpu_used = vp9_cpu_used
        self._vp9_error_resilient = vp9_error_resilient
        self._x264_preset = x264_preset
        self._keyframe_interval_s = keyframe_interval_s
        self._threads = threads
        self._resize = resize
        self._temporal_layers = temporal_layers
        self._ctx: Any = None
        self._session_frames = 0  # frames sent to the current FFmpeg context
        self._session_start = 0  # 90 kHz timestamp of the current session's first frame
        self._pending: list[av.Packet[Any]] = []  # packets drained from a closed session
        self._force_keyframe = False
        self._reopens = 0
        self._frames_in = 0

    @classmethod
    def from_config(cls, config: CodecConfig, *, resize: bool = False) -> VideoEncoder:
        """Create an encoder from a :class:`CodecConfig`.

        Args:
            config: The codec settings.
            resize: Scale input frames of another size instead of rejecting them.

        Returns:
            The encoder.
        """
        return cls(
            config.video_codec,
            width=config.width,
            height=config.height,
            fps=config.fps,
            bitrate=config.video_bitrate,
            svt_preset=config.svt_preset,
            vp9_cpu_used=config.vp9_cpu_used,
            vp9_error_resilient=config.vp9_error_resilient,
            x264_preset=config.x264_preset,
            keyframe_interval_s=config.keyframe_interval_s,
            threads=config.threads,
            resize=resize,
        )

    # -- properties -----------------------------------------------------------------

    @property
    def kind(self) -> Literal["video"]:
        """Always ``"video"``."""
        return "video"

    @property
    def codec(self) -> VideoCodecName:
        """The codec name."""
        return self._codec

    @property
    def bitrate(self) -> int:
        """Current target in bits/s."""
        return self._bitrate

    @property
    def width(self) -> int:
        """Encoded width."""
        return self._width

    @property
    def height(self) -> int:
        """Encoded height."""
        return self._height

    @property
    def fps(self) -> int:
        """Encoded frame rate."""
        return self._fps

    @property
    def time_base(self) -> Fraction:
        """Unit of packet timestamps: 1/90000 s."""
        return VIDEO_CLOCK

    @property
    def svt_preset(self) -> int:
        """The SVT-AV1 preset used at the current size (the fixed one, or the size's)."""
        if self._svt_preset is not None:
            return self._svt_preset
        return svt_preset_for(self._width, self._height)

    @property
    def temporal_layers(self) -> bool:
        """Whether SVT-AV1 codes its low-delay temporal hierarchy (False: flat)."""
        return self._temporal_layers

    @property
    def reopens(self) -> int:
        """How many times the FFmpeg encoder was reopened to apply a change."""
        return self._reopens

    @property
    def next_pts(self) -> int:
        """90 kHz timestamp the next input frame will get."""
        return self._session_start + self._ticks(self._session_frames)

    # -- control --------------------------------------------------------------------

    def set_bitrate(self, bps: int) -> None:
        """Retarget to ``bps`` bits/s from the next frame (reopens; a keyframe follows).

        Args:
            bps: Target bitrate in bits/s.

        Raises:
            CodecError: ``bps`` is not an int in the accepted range.
        """
        bps = check_video_bitrate(bps)
        if bps != self._bitrate:
            self._bitrate = bps
            self._close_session(reopen=True)

    def set_resolution(self, width: int, height: int, *, fps: int | None = None) -> None:
        """Change the encoded size and optionally the frame rate (reopens).

        Args:
            width: New width (even).
            height: New height (even).
            fps: New frame rate, or None to keep it.

        Raises:
            CodecError: Invalid size or rate.
        """
        fps = self._fps if fps is None else fps
        check_geometry(width, height, fps)
        if (width, height, fps) != (self._width, self._height, self._fps):
            self._close_session(reopen=True)
            self._width, self._height, self._fps = width, height, fps

    def set_temporal_layers(self, enabled: bool) -> None:
        """Switch SVT-AV1 between its temporal hierarchy and a flat chain (reopens).

        With the hierarchy (SVT-AV1's low-delay default) every 4th frame is a base-layer
        frame at a lower quantizer: 3-5x the mean frame size (measured on both benchmark
        clips), which pays off in bits at equal PSNR on static camera footage. On a link
        running near its capacity such a frame alone queues for 0.1-0.15 s; a flat chain
        keeps frames within about 1.5x the mean (95th percentile). No effect on VP9 and
        x264, whose real-time modes are flat already.

        Args:
            enabled: True for the hierarchy, False for flat prediction.
        """
        if enabled != self._temporal_layers:
            self._temporal_layers = enabled
            if self._codec == "av1":
                self._close_session(reopen=True)

    def request_keyframe(self) -> None:
        """Make the next encoded frame a keyframe (e.g. after a receiver's PLI)."""
        self._force_keyframe = True

    # -- encoding -------------------------------------------------------------------

    def encode(self, frame: av.VideoFrame | np.ndarray[Any, Any]) -> list[av.Packet[Any]]:
        """Encode one frame.

        Args:
            frame: A PyAV video frame or a ``uint8`` array, of the encoder's size unless
                the encoder was created with ``resize=True``.

        Returns:
            Packets ready now, in decode order, timestamps in 1/90000 s.

        Raises:
            CodecError: The frame was rejected or FFmpeg failed.
        """
        avm = require_av()
        yuv = to_video_frame(frame, width=self._width, height=self._height, resize=self._resize)
        ctx = self._ensure_open()
        yuv.pts = self._session_frames
        yuv.time_base = ctx.time_base
        if self._force_keyframe:
            yuv.pict_type = avm.video.frame.PictureType.I
            self._force_keyframe = False
        with av_errors(f"encoding with {ctx.name}"):
            raw = ctx.encode(yuv)
        self._session_frames += 1
        self._frames_in += 1
        out, self._pending = self._pending, []
        out.extend(self._restamp(p) for p in raw)
        return out

    def flush(self) -> list[av.Packet[Any]]:
        """Drain the encoder; the next frame reopens it with a keyframe.

        Returns:
            Every packet still buffered.
        """
        self._close_session()
        out, self._pending = self._pending, []
        return out

    def close(self) -> None:
        """Release the FFmpeg context; buffered packets are dropped."""
        with contextlib.suppress(CodecError):
            self._close_session()  # send EOS so the encoder shuts down cleanly
        self._ctx = None
        self._pending = []

    def __enter__(self) -> VideoEncoder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ------------------------------------------------------------------

    def _ticks(self, frames: int) -> int:
        return round(frames * 90_000 / self._fps)

    def _restamp(self, packet: av.Packet[Any]) -> av.Packet[Any]:
        # The session encodes in 1/fps ticks from 0; map onto the continuous 90 kHz clock.
        if packet.pts is not None:
            packet.pts = self._session_start + self._ticks(packet.pts)
        if packet.dts is not None:
            packet.dts = self._session_start + self._ticks(packet.dts)
        packet.time_base = VIDEO_CLOCK
        packet.duration = self._ticks(1)
        return packet

    def _options(self) -> dict[str, str]:
        if self._codec == "av1":
            params = "rtc=1:pred-struct=1:rc=2"
            if not self._temporal_layers:
                params += ":hierarchical-levels=0"
            return {"preset": str(self.svt_preset), "svtav1-params": params}
        if self._codec == "vp9":
            return {
                "deadline": "realtime",
                "cpu-used": str(self._vp9_cpu_used),
                "lag-in-frames": "0",
                "row-mt": "1",
                "error-resilient": "1" if self._vp9_error_resilient else "0",
            }
        return {
            "preset": self._x264_preset,
            "tune": "zerolatency",
            "maxrate": str(self._bitrate),
            # Half a second of VBV: tight enough to hold the target through congestion.
            "bufsize": str(self._bitrate // 2),
        }

    def _ensure_open(self) -> Any:
        if self._ctx is not None:
            return self._ctx
        avm = require_av()
        name = ENCODERS[self._codec]
        with av_errors(f"opening {name} at {self._width}x{self._height}, {self._bitrate} bit/s"):
            ctx = avm.CodecContext.create(name, "w")
            ctx.width = self._width
            ctx.height = self._height
            ctx.pix_fmt = "yuv420p"
            ctx.time_base = Fraction(1, self._fps)
            ctx.framerate = Fraction(self._fps, 1)
            ctx.bit_rate = self._bitrate
            ctx.gop_size = max(1, math.ceil(self._keyframe_interval_s * self._fps))
            ctx.max_b_frames = 0
            ctx.thread_count = self._threads
            ctx.options = self._options()
            ctx.open()
        self._ctx = ctx
        return ctx

    def _close_session(self, *, reopen: bool = False) -> None:
        """Drain and drop the FFmpeg context; keep the timeline for the next session."""
        if self._ctx is None:
            return
        ctx, self._ctx = self._ctx, None
        with av_errors(f"flushing {ctx.name}"):
            self._pending.extend(self._restamp(p) for p in ctx.encode(None))
        self._session_start += self._ticks(self._session_frames)
        self._session_frames = 0
        self._reopens += int(reopen)
