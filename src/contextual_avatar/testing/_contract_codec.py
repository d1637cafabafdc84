"""Contract suite for a media encoder: subclass, give one fixture, run pytest.

The sender (:class:`~contextual_avatar.codecs.AdaptiveSender`, a host's own transport)
relies on what the :class:`~contextual_avatar.codecs.MediaCodec` protocol promises, not
on a particular encoder: packets come out with increasing timestamps in ``time_base``; a
retarget takes effect on the next frame and the timeline runs on; ``flush`` drains and
the encoder keeps working; ``close`` releases. :class:`MediaCodecContract` states exactly
that as tests, so a host's encoder is checked the same way as the built-in ones::

    class TestMyEncoder(MediaCodecContract):
        @pytest.fixture
        def make_codec(self) -> Callable[[int], MediaCodec]:
            return lambda bps: MyEncoder(width=320, height=180, bitrate=bps)

Input is real content: frames of Debian's ``opencv-doc`` clip when it is installed
(and :attr:`MediaCodecContract.use_clip`), else a moving gradient with noise; audio is a
voiced tone sweep with noise. Needs ``pytest`` (and PyAV for the built-in encoders).
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Callable, Iterator, Sequence
from fractions import Fraction
from functools import cache
from typing import Any, ClassVar

import numpy as np
import pytest

from contextual_avatar.codecs._base import MediaCodec, MediaKind
from contextual_avatar.errors import ContextualAvatarError

__all__ = ["MediaCodecContract"]

_VIDEO_CLOCK = Fraction(1, 90_000)
_AUDIO_CHUNK_S = 0.02


@cache
def _clip_frames(width: int, height: int, count: int) -> tuple[Any, ...]:
    """Frames of ``Megamind.avi`` at this size, or ``()`` when the clip or PyAV is missing."""
    try:
        from contextual_avatar.codecs.tools import find_clip, read_clip

        return tuple(
            read_clip(find_clip("Megamind.avi"), width=width, height=height, max_frames=count)
        )
    except ContextualAvatarError:
        return ()


def _synthetic_frame(width: int, height: int, index: int) -> np.ndarray[Any, Any]:
    """A moving diagonal gradient plus noise: every frame differs, none is trivial to code."""
    y, x = np.mgrid[0:height, 0:width]
    base = (x + y + 4 * index) % 256
    rgb = np.stack([base, (base + 85) % 256, (255 - base)], axis=-1).astype(np.int16)
    noise = np.random.default_rng(index).integers(-24, 25, size=rgb.shape)
    return np.asarray(np.clip(rgb + noise, 0, 255), dtype=np.uint8)


def _audio_chunk(rate: int, index: int) -> np.ndarray[Any, Any]:
    """20 ms of a 150-600 Hz sweep with noise at about -12 dBFS: voiced, never DTX-silent."""
    n = round(rate * _AUDIO_CHUNK_S)
    t = (np.arange(n) + index * n) / rate
    tone = 0.25 * np.sin(2 * np.pi * (150 + 450 * ((t / 2) % 1)) * t)
    noise = 0.03 * np.random.default_rng(index).standard_normal(n)
    return np.asarray(np.clip(tone + noise, -1, 1) * 32767, dtype=np.int16)


class MediaCodecContract:
    """What every :class:`~contextual_avatar.codecs.MediaCodec` must do.

    Subclass it as ``Test...`` and define the fixture ``make_codec``: a factory
    ``make_codec(bitrate) -> MediaCodec`` (for a video encoder, at :attr:`frame_size`; for
    an audio one, taking int16 mono at :attr:`sample_rate`). Override the class
    attributes when the defaults do not suit the encoder.
    """

    bitrates: ClassVar[tuple[int, int]] = (256_000, 32_000)
    """Two targets the encoder accepts (bits/s), the first several times the second."""
    frame_size: ClassVar[tuple[int, int]] = (320, 180)
    """``(width, height)`` of the video frames fed to a video encoder."""
    sample_rate: ClassVar[int] = 48_000
    """Sample rate of the int16 mono audio fed to an audio encoder (20 ms per call)."""
    stretch: ClassVar[int] = 24
    """Frames (video) or 20 ms chunks (audio) per stretch of encoding."""
    use_clip: ClassVar[bool] = True
    """Feed frames of the ``opencv-doc`` clip when it is installed."""

    @pytest.fixture
    def codec(self, make_codec: Callable[[int], MediaCodec]) -> Iterator[MediaCodec]:
        """An encoder at the first of :attr:`bitrates`, closed after the test."""
        codec = make_codec(self.bitrates[0])
        yield codec
        codec.close()

    # -- input ----------------------------------------------------------------------------

    def media(self, kind: MediaKind, count: int, *, start: int = 0) -> list[Any]:
        """``count`` inputs for an encoder of ``kind``, continuing from input ``start``."""
        if kind == "audio":
            return [_audio_chunk(self.sample_rate, i) for i in range(start, start + count)]
        width, height = self.frame_size
        clip = _clip_frames(width, height, 120) if self.use_clip else ()
        if clip:
            return [clip[i % len(clip)] for i in range(start, start + count)]
        return [_synthetic_frame(width, height, i) for i in range(start, start + count)]

    def encode(self, codec: MediaCodec, count: int, *, start: int = 0) -> list[Any]:
        """Encode ``count`` inputs; every call must return a list of packets."""
        packets: list[Any] = []
        for item in self.media(codec.kind, count, start=start):
            out = codec.encode(item)
            assert isinstance(out, list), f"encode returned {type(out).__name__}, not a list"
            packets += out
        return packets

    # -- checks ---------------------------------------------------------------------------

    @staticmethod
    def check_timeline(codec: MediaCodec, packets: Sequence[Any]) -> list[int]:
        """Assert the packets carry strictly increasing timestamps in ``time_base``."""
        assert packets, "no packets came out"
        pts = [p.pts for p in packets]
        # No sign rule: Opus stamps its first packet before 0 by the encoder's look-ahead.
        assert all(isinstance(t, int) for t in pts), f"missing timestamps: {pts}"
        assert all(b > a for a, b in itertools.pairwise(pts)), f"not increasing: {pts}"
        bases = {p.time_base for p in packets if p.time_base is not None}
        assert bases <= {codec.time_base}, f"packets in {bases}, codec says {codec.time_base}"
        return pts

    # -- the contract ---------------------------------------------------------------------

    def test_reports_kind_bitrate_and_time_base(self, codec: MediaCodec) -> None:
        """``kind``, ``bitrate`` and ``time_base`` say what the encoder is and does."""
        assert isinstance(codec, MediaCodec)
        assert codec.kind in ("video", "audio")
        assert codec.bitrate == self.bitrates[0]
        assert isinstance(codec.time_base, Fraction)
        assert codec.time_base > 0
        if codec.kind == "video":
            assert codec.time_base == _VIDEO_CLOCK  # the RTP video clock
        kind = codec.kind
        self.encode(codec, 2)
        assert (codec.kind, codec.bitrate) == (kind, self.bitrates[0])

    def test_encode_gives_packets_with_increasing_timestamps(self, codec: MediaCodec) -> None:
        """Real input comes out as packets on one increasing timeline."""
        packets = self.encode(codec, self.stretch)
        packets += codec.flush()
        pts = self.check_timeline(codec, packets)
        if codec.kind == "audio":
            fed_s = self.stretch * _AUDIO_CHUNK_S
            assert (pts[-1] - pts[0]) * codec.time_base <= fed_s + _AUDIO_CHUNK_S

    def test_set_bitrate_takes_effect_and_keeps_the_timeline(self, codec: MediaCodec) -> None:
        """A retarget lowers the output from the next frame; timestamps run on unbroken."""
        high, low = self.bitrates
        before = self.encode(codec, self.stretch)
        codec.set_bitrate(low)
        assert codec.bitrate == low
        after = self.encode(codec, self.stretch, start=self.stretch)
        packets = before + after + codec.flush()
        pts = self.check_timeline(codec, packets)
        steps = [b - a for a, b in itertools.pairwise(pts)]
        assert max(steps) <= 2 * statistics.median(steps), f"timeline broken: steps {steps}"
        middle = (pts[0] + pts[-1]) / 2
        first = sum(p.size for p in packets if p.pts < middle)
        second = sum(p.size for p in packets if p.pts >= middle)
        assert second < 0.75 * first, (
            f"{high} -> {low} bit/s left the output at {first} then {second} bytes"
        )

    def test_flush_drains_and_the_encoder_works_again(self, codec: MediaCodec) -> None:
        """After ``flush`` nothing is left inside, and the next frames encode on the timeline."""
        first = self.encode(codec, self.stretch // 2)
        first += codec.flush()
        assert codec.flush() == [], "a second flush found packets the first left behind"
        second = self.encode(codec, self.stretch // 2, start=self.stretch // 2)
        second += codec.flush()
        assert second, "no packets after a flush: the encoder did not come back"
        self.check_timeline(codec, first + second)

    def test_close_releases_and_may_be_repeated(
        self, make_codec: Callable[[int], MediaCodec]
    ) -> None:
        """``close`` works on a fresh, a busy and an already closed encoder."""
        make_codec(self.bitrates[0]).close()
        codec = make_codec(self.bitrates[0])
        self.encode(codec, 3)
        codec.close()
        codec.close()
