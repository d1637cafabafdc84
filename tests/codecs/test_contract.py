"""The codec contract suite, run against the built-in encoders.

A host subclasses the same class for its own encoder; running it here keeps the contract
honest (every built-in encoder passes it).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

pytest.importorskip("av")

from contextual_avatar.codecs import MediaCodec, OpusEncoder, VideoEncoder
from contextual_avatar.testing import MediaCodecContract


def video(codec: str) -> Callable[[int], MediaCodec]:
    return lambda bps: VideoEncoder(codec, width=320, height=180, fps=30, bitrate=bps)


class TestSvtAv1Contract(MediaCodecContract):
    @pytest.fixture
    def make_codec(self) -> Callable[[int], MediaCodec]:
        return video("av1")


class TestVp9Contract(MediaCodecContract):
    @pytest.fixture
    def make_codec(self) -> Callable[[int], MediaCodec]:
        return video("vp9")


class TestH264Contract(MediaCodecContract):
    @pytest.fixture
    def make_codec(self) -> Callable[[int], MediaCodec]:
        return video("h264")


class TestSyntheticFramesContract(MediaCodecContract):
    """The fallback input (no opencv-doc clip) must satisfy the contract too."""

    use_clip = False

    @pytest.fixture
    def make_codec(self) -> Callable[[int], MediaCodec]:
        return video("av1")


class TestOpusContract(MediaCodecContract):
    bitrates = (64_000, 8_000)

    @pytest.fixture
    def make_codec(self) -> Callable[[int], MediaCodec]:
        return lambda bps: OpusEncoder(bitrate=bps, input_rate=self.sample_rate)
