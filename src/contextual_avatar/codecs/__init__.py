"""Media codecs for the avatar's stream: AV1/VP9/H.264 video, Opus voice, bitrate control.

PyAV (``pip install 'contextual-avatar[codecs]'``) is imported only when an encoder or
decoder is created, and each name below loads its module on first use, so reading
:class:`CodecConfig` loads no encoder. The pieces:

* :class:`VideoEncoder` / :class:`VideoDecoder`: SVT-AV1 (dav1d to decode), libvpx VP9,
  x264, real-time settings, ``set_bitrate`` mid-stream with continuous timestamps;
* :class:`OpusEncoder` / :class:`OpusDecoder`: voice-tuned Opus with FEC and DTX;
* :class:`BitrateController`: GCC-style delay/loss control and a resolution ladder, fed
  with :class:`PacketReport` s (transport feedback);
* :class:`AdaptiveSender`: the controller's decisions applied to real encoders;
* :class:`CodecConfig`: the settings the engine nests as ``EngineConfig.codecs``.

The network simulator, :func:`~contextual_avatar.codecs.tools.simulate_call`, PSNR and
the test-clip reader are tooling, in the opt-in :mod:`contextual_avatar.codecs.tools`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from contextual_avatar._lazy import lazy_exports

if TYPE_CHECKING:
    from contextual_avatar.codecs._adaptive import AdaptiveSender, SenderEvent
    from contextual_avatar.codecs._audio import OPUS_RATE, OpusDecoder, OpusEncoder
    from contextual_avatar.codecs._base import MediaCodec, MediaKind
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
    from contextual_avatar.codecs._feedback import PacketReport
    from contextual_avatar.codecs._gcc import BandwidthUsage, OveruseDetector, TrendlineEstimator
    from contextual_avatar.codecs._video import VideoEncoder
    from contextual_avatar.codecs._video_codecs import VIDEO_CLOCK
    from contextual_avatar.codecs._video_decoder import VideoDecoder

__all__ = [
    "DEFAULT_LADDER",
    "OPUS_RATE",
    "VIDEO_CLOCK",
    "AdaptiveSender",
    "AudioCodecName",
    "BandwidthUsage",
    "BitrateController",
    "CodecConfig",
    "ControllerConfig",
    "LadderRung",
    "MediaCodec",
    "MediaKind",
    "OpusApplication",
    "OpusDecoder",
    "OpusEncoder",
    "OveruseDetector",
    "PacketReport",
    "RateDecision",
    "SenderEvent",
    "TrendlineEstimator",
    "VideoCodecName",
    "VideoDecoder",
    "VideoEncoder",
    "svt_preset_for",
]

_LAZY = {
    "DEFAULT_LADDER": "._config",
    "OPUS_RATE": "._audio",
    "VIDEO_CLOCK": "._video_codecs",
    "AdaptiveSender": "._adaptive",
    "AudioCodecName": "._config",
    "BandwidthUsage": "._gcc",
    "BitrateController": "._controller",
    "CodecConfig": "._config",
    "ControllerConfig": "._config",
    "LadderRung": "._config",
    "MediaCodec": "._base",
    "MediaKind": "._base",
    "OpusApplication": "._config",
    "OpusDecoder": "._audio",
    "OpusEncoder": "._audio",
    "OveruseDetector": "._gcc",
    "PacketReport": "._feedback",
    "RateDecision": "._controller",
    "SenderEvent": "._adaptive",
    "TrendlineEstimator": "._gcc",
    "VideoCodecName": "._config",
    "VideoDecoder": "._video_decoder",
    "VideoEncoder": "._video",
    "svt_preset_for": "._config",
}

if not TYPE_CHECKING:  # mypy and IDEs read the imports above
    __getattr__, __dir__ = lazy_exports(__name__, _LAZY)
