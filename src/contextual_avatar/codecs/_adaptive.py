"""Applying the controller's decisions to real encoders without thrashing them.

Every video retarget reopens the encoder and costs a keyframe, while the controller
changes its mind every feedback interval. :class:`AdaptiveSender` therefore applies a
decrease as soon as it is at least ``min_change`` (relative) and an increase only when
it is that large and ``increase_hold_s`` has passed since the last change
(``limited_increase_hold_s``, 3 s, while the link is the limit: there a reopen keyframe
alone queues for over 100 ms, and on the benchmark traces increases 1 s apart were
taken back by the next over-use, two keyframes per round); a ladder step
(resolution or frame rate) is applied at once. Frame-rate rungs below the source rate
are met by dropping source frames evenly.

With ``flat_when_link_limited=True``, while the controller reports the link as the limit
(:attr:`RateDecision.link_limited`, set by an over-use) each video retarget also switches
SVT-AV1 to flat prediction: its temporal hierarchy puts a base-layer frame of 3-5x the
mean size on the wire every 4th frame, and on a link running at 80 % of its capacity one
such frame queues for more than 100 ms. The hierarchy returns with the first retarget
once the target has outgrown the congested rate; the switch rides on a reopen that
happens anyway. Measured on the benchmark traces (``docs/codecs.md``) it raises link
utilisation but does not remove the late recoveries, which scene-cut frames and reopen
keyframes cause as well, so it is off by default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from contextual_avatar.codecs._audio import OpusEncoder
from contextual_avatar.codecs._config import MAX_VIDEO_BITRATE, MIN_VIDEO_BITRATE
from contextual_avatar.codecs._controller import RateDecision
from contextual_avatar.codecs._video import VideoEncoder
from contextual_avatar.errors import CodecError

if TYPE_CHECKING:
    import av
    import numpy as np

__all__ = ["AdaptiveSender", "SenderEvent"]


@dataclass(frozen=True, slots=True)
class SenderEvent:
    """One change the sender applied to its encoders.

    Parameters:
        time_s: When.
        what: ``"video_bitrate"``, ``"audio_bitrate"``, ``"resolution"`` or
            ``"temporal_layers"`` (SVT-AV1 hierarchy switched on or off).
        before: Old value (bits/s, or ``"WxH@fps"``).
        after: New value.
    """

    time_s: float
    what: str
    before: str
    after: str


class AdaptiveSender:
    """Owns the encoders of one call and applies :class:`RateDecision` values to them."""

    def __init__(
        self,
        video: VideoEncoder,
        *,
        source_fps: int,
        audio: OpusEncoder | None = None,
        min_change: float = 0.1,
        increase_hold_s: float = 1.0,
        limited_increase_hold_s: float = 3.0,
        flat_when_link_limited: bool = False,
    ) -> None:
        """Create the sender.

        Args:
            video: The video encoder; create it with ``resize=True`` so ladder steps can
                scale the source frames.
            source_fps: Frame rate of the frames handed to :meth:`encode_video`.
            audio: The Opus encoder, if the call has audio.
            min_change: Smallest relative bitrate change worth a retarget.
            increase_hold_s: Minimum time between a change and a following increase.
            limited_increase_hold_s: The same while the controller reports the link as
                the limit (:attr:`RateDecision.link_limited`): every retarget reopens the
                encoder and sends a keyframe of 3-5x the mean frame, which on a link
                running near its capacity queues for over 100 ms by itself, and a small
                increase there is soon taken back by the next over-use (two keyframes).
            flat_when_link_limited: Code SVT-AV1 without temporal layers while the
                controller reports the link as the limit (see the module docstring;
                off by default).

        Raises:
            CodecError: Invalid settings.
        """
        if source_fps < 1:
            raise CodecError(f"source_fps must be >= 1, got {source_fps}")
        if not 0.0 <= min_change < 1.0:
            raise CodecError(f"min_change must be in [0, 1), got {min_change}")
        self._video = video
        self._audio = audio
        self._source_fps = source_fps
        self._min_change = min_change
        self._increase_hold = increase_hold_s
        self._limited_increase_hold = limited_increase_hold_s
        self._flat_when_limited = flat_when_link_limited
        self._last_video_change = -1e9
        self._credit = 0.0  # frame-rate decimation accumulator
        self.events: list[SenderEvent] = []
        """Every change applied, in order."""

    @property
    def video(self) -> VideoEncoder:
        """The video encoder."""
        return self._video

    @property
    def audio(self) -> OpusEncoder | None:
        """The Opus encoder, if any."""
        return self._audio

    def apply(self, decision: RateDecision, now: float) -> bool:
        """Retarget the encoders if the decision differs enough.

        Args:
            decision: The controller's latest decision.
            now: Current time (s).

        Returns:
            True if the video encoder was reconfigured.
        """
        changed = False
        rung = decision.rung
        enc = self._video
        fps = min(rung.fps, self._source_fps)  # a rung cannot add frames the source lacks
        if (rung.width, rung.height, fps) != (enc.width, enc.height, enc.fps):
            before = f"{enc.width}x{enc.height}@{enc.fps}"
            enc.set_resolution(rung.width, rung.height, fps=fps)
            self.events.append(
                SenderEvent(now, "resolution", before, f"{enc.width}x{enc.height}@{enc.fps}")
            )
            changed = True
        target = min(max(decision.video_bps, MIN_VIDEO_BITRATE), MAX_VIDEO_BITRATE)
        current = enc.bitrate
        down = target < current * (1.0 - self._min_change)
        hold = self._limited_increase_hold if decision.link_limited else self._increase_hold
        up = target > current * (1.0 + self._min_change) and now - self._last_video_change >= hold
        if down or up or (changed and target != current):
            layers = not (self._flat_when_limited and decision.link_limited)
            if enc.codec == "av1" and layers != enc.temporal_layers:
                enc.set_temporal_layers(layers)
                self.events.append(
                    SenderEvent(now, "temporal_layers", str(not layers), str(layers))
                )
            enc.set_bitrate(target)
            self.events.append(SenderEvent(now, "video_bitrate", str(current), str(target)))
            changed = True
        if changed:
            self._last_video_change = now
        if self._audio is not None:
            audio_now = self._audio.bitrate
            if abs(decision.audio_bps - audio_now) > audio_now * self._min_change:
                self._audio.set_bitrate(decision.audio_bps)
                self.events.append(
                    SenderEvent(now, "audio_bitrate", str(audio_now), str(decision.audio_bps))
                )
        return changed

    def encode_video(
        self, frame: av.VideoFrame | np.ndarray[Any, Any]
    ) -> list[av.Packet[Any]] | None:
        """Encode one source frame, or skip it to meet a lower frame-rate rung.

        Args:
            frame: One frame at the source rate.

        Returns:
            The packets, or None if the frame was dropped for frame rate.
        """
        self._credit += self._video.fps / self._source_fps
        if self._credit < 1.0 - 1e-9:
            return None
        self._credit -= 1.0
        return self._video.encode(frame)

    def encode_audio(self, samples: av.AudioFrame | np.ndarray[Any, Any]) -> list[av.Packet[Any]]:
        """Encode audio with the Opus encoder.

        Args:
            samples: Audio at the Opus encoder's input rate.

        Returns:
            Opus packets.

        Raises:
            CodecError: The sender has no audio encoder.
        """
        if self._audio is None:
            raise CodecError("this sender has no audio encoder")
        return self._audio.encode(samples)
