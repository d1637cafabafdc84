"""Media codecs for the avatar's stream: AV1/VP9/H.264 video, Opus voice, bitrate control.

PyAV (``pip install 'contextual-avatar[codecs]'``) is imported only when an encoder or
decoder is created. The pieces:

* :class:`VideoEncoder` / :class:`VideoDecoder`: SVT-AV1 (dav1d to decode), libvpx VP9,
  x264, real-time settings, ``set_bitrate`` mid-stream with continuous timestamps;
* :class:`OpusEncoder` / :class:`OpusDecoder`: voice-tuned Opus with FEC and DTX;
* :class:`BitrateController`: GCC-style delay/loss control and a resolution ladder;
* :class:`NetworkSimulator` and :class:`CapacityTrace`: a bottleneck link from a trace;
* :class:`AdaptiveSender` and :func:`simulate_call`: the controller applied to real
  encoders over the simulated link;
* :class:`CodecConfig`: the settings the engine nests as ``EngineConfig.codecs``.
"""

from __future__ import annotations

from contextual_avatar.codecs._adaptive import AdaptiveSender, SenderEvent
from contextual_avatar.codecs._audio import OPUS_RATE, OpusDecoder, OpusEncoder
from contextual_avatar.codecs._base import MediaCodec, MediaKind
from contextual_avatar.codecs._clips import OPENCV_DATA, find_clip, read_clip
from contextual_avatar.codecs._config import (
    DEFAULT_LADDER,
    AudioCodecName,
    CodecConfig,
    ControllerConfig,
    LadderRung,
    OpusApplication,
    VideoCodecName,
    svt_preset_for,
)
from contextual_avatar.codecs._controller import BitrateController, RateDecision
from contextual_avatar.codecs._gcc import BandwidthUsage, OveruseDetector, TrendlineEstimator
from contextual_avatar.codecs._netsim import (
    CapacityTrace,
    NetworkSimulator,
    PacketReport,
    TracePoint,
)
from contextual_avatar.codecs._quality import plane_psnr, yuv_psnr
from contextual_avatar.codecs._simulate import CallReport, TimelineSample, simulate_call
from contextual_avatar.codecs._video import VIDEO_CLOCK, VideoDecoder, VideoEncoder

__all__ = [
    "DEFAULT_LADDER",
    "OPENCV_DATA",
    "OPUS_RATE",
    "VIDEO_CLOCK",
    "AdaptiveSender",
    "AudioCodecName",
    "BandwidthUsage",
    "BitrateController",
    "CallReport",
    "CapacityTrace",
    "CodecConfig",
    "ControllerConfig",
    "LadderRung",
    "MediaCodec",
    "MediaKind",
    "NetworkSimulator",
    "OpusApplication",
    "OpusDecoder",
    "OpusEncoder",
    "OveruseDetector",
    "PacketReport",
    "RateDecision",
    "SenderEvent",
    "TimelineSample",
    "TracePoint",
    "TrendlineEstimator",
    "VideoCodecName",
    "VideoDecoder",
    "VideoEncoder",
    "find_clip",
    "plane_psnr",
    "read_clip",
    "simulate_call",
    "svt_preset_for",
    "yuv_psnr",
]
