"""Settings for the media codecs and the bitrate controller.

:class:`CodecConfig` is a frozen pydantic model that the engine nests into its own
settings (``CONTEXTUAL_AVATAR_CODECS__VIDEO_CODEC=vp9``); the codecs themselves never
read the environment. Defaults are module constants so they can be quoted in docs and
tests. The SVT-AV1 preset default comes from ``benchmarks/codecs.py`` (CPU headroom at
360p on two cores), not from a guess.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "DEFAULT_AUDIO_BITRATE",
    "DEFAULT_FPS",
    "DEFAULT_HEIGHT",
    "DEFAULT_LADDER",
    "DEFAULT_SVT_PRESET",
    "DEFAULT_VIDEO_BITRATE",
    "DEFAULT_WIDTH",
    "MAX_AUDIO_BITRATE",
    "MAX_VIDEO_BITRATE",
    "MIN_AUDIO_BITRATE",
    "MIN_VIDEO_BITRATE",
    "SVT_PRESET_LARGE",
    "SVT_PRESET_MAX_PIXELS",
    "AudioCodecName",
    "CodecConfig",
    "ControllerConfig",
    "LadderRung",
    "OpusApplication",
    "VideoCodecName",
    "svt_preset_for",
]

VideoCodecName = Literal["av1", "vp9", "h264"]
"""Video codecs: AV1 (SVT-AV1 encode, dav1d decode), VP9 (libvpx), H.264 (x264)."""

AudioCodecName = Literal["opus"]
"""Audio codecs: Opus (libopus)."""

OpusApplication = Literal["voip", "audio", "lowdelay"]
"""libopus application modes; ``voip`` tunes for speech intelligibility."""

# Absolute limits an encoder accepts; outside them set_bitrate raises CodecError.
MIN_VIDEO_BITRATE = 20_000
MAX_VIDEO_BITRATE = 50_000_000
MIN_AUDIO_BITRATE = 6_000
MAX_AUDIO_BITRATE = 510_000

DEFAULT_VIDEO_CODEC: VideoCodecName = "av1"
DEFAULT_WIDTH = 640
DEFAULT_HEIGHT = 360
DEFAULT_FPS = 30
DEFAULT_VIDEO_BITRATE = 600_000
DEFAULT_AUDIO_BITRATE = 24_000
DEFAULT_SVT_PRESET = 7  # benchmarks/codecs.py: slowest rtc preset within 16.7 CPU ms/frame, 360p
#: Preset for frames larger than :data:`SVT_PRESET_MAX_PIXELS`: preset 7 costs 30.5 CPU ms a
#: 720p frame and 24.1 ms at 540p, over the 16.7 ms budget; preset 10 15.9 and 12.8 ms.
SVT_PRESET_LARGE = 10
#: Frames up to this many pixels (640x360) use :data:`DEFAULT_SVT_PRESET`.
SVT_PRESET_MAX_PIXELS = 640 * 360


def svt_preset_for(width: int, height: int) -> int:
    """The SVT-AV1 preset that keeps a frame of this size within the CPU budget at 30 fps."""
    return DEFAULT_SVT_PRESET if width * height <= SVT_PRESET_MAX_PIXELS else SVT_PRESET_LARGE


DEFAULT_VP9_CPU_USED = 8
X264Preset = Literal["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow"]
DEFAULT_X264_PRESET: X264Preset = "veryfast"
DEFAULT_KEYFRAME_INTERVAL_S = 10.0
DEFAULT_THREADS = 2
DEFAULT_OPUS_FRAME_MS: Literal[10, 20, 40, 60] = 20
DEFAULT_OPUS_EXPECTED_LOSS_PCT = 10


class LadderRung(BaseModel):
    """One step of the resolution/frame-rate ladder.

    Parameters:
        width: Encoded width in pixels (even).
        height: Encoded height in pixels (even).
        fps: Encoded frames per second.
        min_bitrate: The lowest video bitrate (bits/s) this rung is used at; below it the
            controller steps down to the next rung.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    width: int = Field(gt=0, le=7680)
    height: int = Field(gt=0, le=4320)
    fps: int = Field(gt=0, le=120)
    min_bitrate: int = Field(ge=0)

    @field_validator("width", "height")
    @classmethod
    def _even(cls, value: int) -> int:
        if value % 2:
            raise ValueError(f"must be even for yuv420p, got {value}")
        return value


DEFAULT_LADDER: tuple[LadderRung, ...] = (
    LadderRung(width=1280, height=720, fps=30, min_bitrate=1_200_000),
    LadderRung(width=960, height=540, fps=30, min_bitrate=700_000),
    LadderRung(width=640, height=360, fps=30, min_bitrate=300_000),
    LadderRung(width=480, height=270, fps=30, min_bitrate=160_000),
    LadderRung(width=320, height=180, fps=15, min_bitrate=0),
)


class ControllerConfig(BaseModel):
    """Tuning of the congestion-aware bitrate controller (GCC-like).

    Parameters:
        start_bitrate: Total (video + audio) bitrate to start at, bits/s.
        min_bitrate: Floor of the total target, bits/s.
        max_bitrate: Ceiling of the total target, bits/s.
        beta: Multiplicative decrease applied to the measured receive rate on overuse.
            0.8 rather than GCC's 0.85: a reopened encoder overshoots its new target for
            its first second (measured with SVT-AV1), and 0.85 left no room for that.
        increase_per_s: Multiplicative increase per second far from the last known capacity.
        drain_time_s: Time the controller gives itself to drain a standing queue after a
            decrease. Without pushback the target is also lowered by
            ``queued bits / drain_time_s``; with pushback the queue drains by pausing video.
        pushback: Congestion-window pushback (as in libwebrtc): pause video frames while
            the bits sent but not yet reported exceed the window, so a standing queue
            drains at once without lowering the encoder target below ``beta`` x the
            measured bottleneck rate (which would cost extra encoder reopens).
        pushback_window_s: Queueing the window allows beyond the base round trip, in
            seconds of the current target.
        overuse_queue_s: Standing queue (one-way delay above its minimum) that counts as
            over-use even before the delay trend says so; reacts to a sudden capacity
            drop a few feedback rounds sooner than the trendline alone.
        trendline_window: Number of packet groups in the delay-trend regression.
        initial_threshold_ms: Starting over-use threshold of the adaptive detector.
        loss_high: Loss fraction above which the loss-based estimate decreases.
        loss_low: Loss fraction below which the loss-based estimate may grow.
        audio_share: Share of the total target given to audio (then clamped to the
            audio bounds).
        min_audio_bitrate: Opus floor, bits/s.
        max_audio_bitrate: Opus ceiling, bits/s.
        ladder: Resolution/frame-rate rungs, highest first.
        step_up_hold_s: How long the video target must clear the next rung up before
            stepping up (hysteresis against flapping).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    start_bitrate: int = Field(default=800_000, gt=0)
    min_bitrate: int = Field(default=60_000, gt=0)
    max_bitrate: int = Field(default=3_000_000, gt=0, le=MAX_VIDEO_BITRATE)
    beta: float = Field(default=0.8, gt=0.0, lt=1.0)
    increase_per_s: float = Field(default=0.08, gt=0.0, le=1.0)
    drain_time_s: float = Field(default=0.5, gt=0.0, le=10.0)
    pushback: bool = True
    pushback_window_s: float = Field(default=0.1, gt=0.0, le=5.0)
    overuse_queue_s: float = Field(default=0.1, gt=0.0, le=5.0)
    trendline_window: int = Field(default=20, ge=4, le=200)
    initial_threshold_ms: float = Field(default=12.5, gt=0.0)
    loss_high: float = Field(default=0.10, gt=0.0, lt=1.0)
    loss_low: float = Field(default=0.02, ge=0.0, lt=1.0)
    audio_share: float = Field(default=0.08, gt=0.0, lt=1.0)
    min_audio_bitrate: int = Field(default=8_000, ge=MIN_AUDIO_BITRATE, le=MAX_AUDIO_BITRATE)
    max_audio_bitrate: int = Field(default=32_000, ge=MIN_AUDIO_BITRATE, le=MAX_AUDIO_BITRATE)
    ladder: tuple[LadderRung, ...] = DEFAULT_LADDER
    step_up_hold_s: float = Field(default=2.0, ge=0.0)

    @model_validator(mode="after")
    def _check_bounds(self) -> ControllerConfig:
        if not self.min_bitrate <= self.start_bitrate <= self.max_bitrate:
            raise ValueError(
                "start_bitrate must lie in [min_bitrate, max_bitrate], got "
                f"{self.start_bitrate} outside [{self.min_bitrate}, {self.max_bitrate}]"
            )
        if self.min_audio_bitrate > self.max_audio_bitrate:
            raise ValueError("min_audio_bitrate must not exceed max_audio_bitrate")
        if self.loss_low >= self.loss_high:
            raise ValueError("loss_low must be below loss_high")
        if not self.ladder:
            raise ValueError("ladder must have at least one rung")
        mins = [rung.min_bitrate for rung in self.ladder]
        if mins != sorted(mins, reverse=True) or len(set(mins)) != len(mins):
            raise ValueError("ladder rungs must be ordered by strictly decreasing min_bitrate")
        return self


class CodecConfig(BaseModel):
    """Media codec settings the engine nests as ``EngineConfig.codecs``.

    Parameters:
        video_codec: ``"av1"`` (default), ``"vp9"`` or ``"h264"``.
        audio_codec: ``"opus"``.
        width: Encoded width at the start (even).
        height: Encoded height at the start (even).
        fps: Encoded frame rate at the start.
        video_bitrate: Initial video target, bits/s.
        audio_bitrate: Initial Opus target, bits/s.
        svt_preset: SVT-AV1 preset (0 slowest .. 13 fastest); ``None`` picks it from the frame
            size as the ladder moves: 7 up to 640x360, 10 above (see :func:`svt_preset_for`).
        vp9_cpu_used: libvpx ``cpu-used`` for real time (higher is faster).
        vp9_error_resilient: libvpx error-resilient mode (robust to loss, 2-4 % more bits).
        x264_preset: x264 speed preset.
        keyframe_interval_s: Seconds between periodic keyframes.
        threads: Encoder threads.
        opus_application: libopus application mode.
        opus_frame_ms: Opus frame duration in milliseconds.
        opus_fec: Opus in-band forward error correction.
        opus_dtx: Discontinuous transmission: silent frames are not sent.
        opus_expected_loss_pct: Loss percentage libopus plans its FEC for.
        controller: Bitrate controller tuning.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    video_codec: VideoCodecName = DEFAULT_VIDEO_CODEC
    audio_codec: AudioCodecName = "opus"
    width: int = Field(default=DEFAULT_WIDTH, gt=0, le=7680)
    height: int = Field(default=DEFAULT_HEIGHT, gt=0, le=4320)
    fps: int = Field(default=DEFAULT_FPS, gt=0, le=120)
    video_bitrate: int = Field(
        default=DEFAULT_VIDEO_BITRATE, ge=MIN_VIDEO_BITRATE, le=MAX_VIDEO_BITRATE
    )
    audio_bitrate: int = Field(
        default=DEFAULT_AUDIO_BITRATE, ge=MIN_AUDIO_BITRATE, le=MAX_AUDIO_BITRATE
    )
    svt_preset: int | None = Field(default=None, ge=0, le=13)
    vp9_cpu_used: int = Field(default=DEFAULT_VP9_CPU_USED, ge=0, le=9)
    vp9_error_resilient: bool = True
    x264_preset: X264Preset = DEFAULT_X264_PRESET
    keyframe_interval_s: float = Field(default=DEFAULT_KEYFRAME_INTERVAL_S, gt=0.0, le=600.0)
    threads: int = Field(default=DEFAULT_THREADS, ge=1, le=64)
    opus_application: OpusApplication = "voip"
    opus_frame_ms: Literal[10, 20, 40, 60] = DEFAULT_OPUS_FRAME_MS
    opus_fec: bool = True
    opus_dtx: bool = True
    opus_expected_loss_pct: int = Field(default=DEFAULT_OPUS_EXPECTED_LOSS_PCT, ge=0, le=100)
    controller: ControllerConfig = ControllerConfig()

    @field_validator("width", "height")
    @classmethod
    def _even(cls, value: int) -> int:
        if value % 2:
            raise ValueError(f"must be even for yuv420p, got {value}")
        return value
