"""VP9's error-resilient mode is a real switch: the flag reaches the bitstream."""

from __future__ import annotations

import numpy as np
import pytest

from contextual_avatar.codecs import CodecConfig, VideoDecoder, VideoEncoder
from contextual_avatar.codecs.tools import yuv_psnr


def error_resilient_bits(packets) -> list[int]:
    # VP9 uncompressed header, profile 0: frame_marker(2) profile(2) show_existing_frame(1)
    # frame_type(1) show_frame(1) error_resilient_mode(1): the low bit of the first byte.
    return [bytes(p)[0] & 1 for p in packets]


@pytest.mark.parametrize("resilient", [True, False])
def test_vp9_error_resilient_flag_and_round_trip(resilient, camera_frames):
    enc = VideoEncoder(
        "vp9", width=320, height=180, fps=30, bitrate=300_000, vp9_error_resilient=resilient
    )
    packets = [p for f in camera_frames for p in enc.encode(f)] + enc.flush()
    assert all(bytes(p)[0] >> 6 == 0b10 for p in packets)  # VP9 frame marker
    bits = error_resilient_bits(packets)
    if resilient:
        assert all(bits)
    else:
        assert not any(bits[1:])
    dec = VideoDecoder("vp9")
    decoded = [f for p in packets for f in dec.decode(p)] + dec.decode(None)
    assert len(decoded) == len(camera_frames)
    assert np.mean([yuv_psnr(a, b) for a, b in zip(camera_frames, decoded, strict=True)]) > 30


def test_config_carries_the_vp9_switch():
    assert CodecConfig().vp9_error_resilient is True
    enc = VideoEncoder.from_config(
        CodecConfig(video_codec="vp9", width=320, height=180, vp9_error_resilient=False)
    )
    packets = [p for _ in range(3) for p in enc.encode(np.zeros((180, 320, 3), np.uint8))]
    assert not any(error_resilient_bits((packets + enc.flush())[1:]))
