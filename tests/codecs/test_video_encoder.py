from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from contextual_avatar.codecs import VIDEO_CLOCK, MediaCodec, VideoDecoder, VideoEncoder
from contextual_avatar.codecs.tools import yuv_psnr
from contextual_avatar.errors import CodecError

CODECS = ["av1", "vp9", "h264"]


def encode_all(enc: VideoEncoder, frames, change_at=None, new_bitrate=None):
    packets = []
    for i, frame in enumerate(frames):
        if i == change_at:
            enc.set_bitrate(new_bitrate)
        packets += enc.encode(frame)
    return packets + enc.flush()


def decode_all(codec, packets):
    dec = VideoDecoder(codec)
    out = []
    for p in packets:
        out += dec.decode(p)
    return out + dec.decode(None)


@pytest.mark.parametrize("codec", CODECS)
def test_round_trip_real_frames(codec, face_frames):
    enc = VideoEncoder(codec, width=320, height=180, fps=24, bitrate=400_000)
    assert isinstance(enc, MediaCodec)
    packets = encode_all(enc, face_frames)
    assert packets[0].is_keyframe
    decoded = decode_all(codec, packets)
    assert len(decoded) == len(face_frames)
    assert (decoded[0].width, decoded[0].height) == (320, 180)
    psnr = np.mean([yuv_psnr(a, b) for a, b in zip(face_frames, decoded, strict=True)])
    assert psnr > 30.0


@pytest.mark.parametrize("codec", CODECS)
def test_set_bitrate_reopens_with_keyframe_and_continuous_timestamps(codec, camera_frames):
    enc = VideoEncoder(codec, width=320, height=180, fps=30, bitrate=600_000)
    packets = encode_all(enc, camera_frames, change_at=6, new_bitrate=60_000)
    assert enc.reopens == 1
    assert enc.bitrate == 60_000
    pts = [p.pts for p in packets]
    assert pts == [i * 3000 for i in range(len(camera_frames))]
    assert all(p.time_base == VIDEO_CLOCK for p in packets)
    keyframes = [i for i, p in enumerate(packets) if p.is_keyframe]
    assert keyframes == [0, 6]
    # The lower target shows: each half starts with a keyframe, the second is smaller.
    before = sum(p.size for p in packets[:6])
    after = sum(p.size for p in packets[6:])
    assert after < 0.7 * before
    assert len(decode_all(codec, packets)) == len(camera_frames)


def test_same_bitrate_does_not_reopen(face_frames):
    enc = VideoEncoder("av1", width=320, height=180, bitrate=300_000)
    enc.encode(face_frames[0])
    enc.set_bitrate(300_000)
    assert enc.reopens == 0


def test_numpy_rgb_input(face_frames):
    enc = VideoEncoder("h264", width=320, height=180, bitrate=300_000)
    rgb = face_frames[0].to_ndarray(format="rgb24")
    packets = enc.encode(rgb) + enc.flush()
    assert decode_all("h264", packets)[0].width == 320


def test_resize_and_set_resolution(face_frames):
    enc = VideoEncoder("vp9", width=320, height=180, bitrate=300_000, resize=True)
    packets = enc.encode(face_frames[0])
    enc.set_resolution(160, 90, fps=15)
    packets += enc.encode(face_frames[1]) + enc.flush()
    decoded = decode_all("vp9", packets)
    assert [(f.width, f.height) for f in decoded] == [(320, 180), (160, 90)]
    assert packets[1].pts == 3000  # one 1/30 s tick after the first frame
    assert enc.fps == 15


def test_svt_preset_follows_the_frame_size_unless_fixed(face_frames):
    # Preset 7 fits the CPU budget at 360p; at 720p it costs ~30 ms a frame, so a
    # move up the ladder must switch to a faster preset, and back down again.
    enc = VideoEncoder("av1", width=1280, height=720, bitrate=1_500_000, resize=True)
    assert enc.svt_preset == 10
    packets = enc.encode(face_frames[0])
    enc.set_resolution(640, 360)
    assert enc.svt_preset == 7
    packets += enc.encode(face_frames[1]) + enc.flush()
    decoded = decode_all("av1", packets)
    assert [(f.width, f.height) for f in decoded] == [(1280, 720), (640, 360)]
    fixed = VideoEncoder("av1", width=1280, height=720, svt_preset=8)
    assert fixed.svt_preset == 8


def test_request_keyframe(face_frames):
    enc = VideoEncoder("av1", width=320, height=180, bitrate=300_000)
    packets = enc.encode(face_frames[0]) + enc.encode(face_frames[1])
    enc.request_keyframe()
    packets += enc.encode(face_frames[2]) + enc.flush()
    assert [p.is_keyframe for p in packets] == [True, False, True]


def test_time_base():
    assert VideoEncoder("h264").time_base == Fraction(1, 90_000)


# -- bad input ---------------------------------------------------------------------


def test_unknown_codec():
    with pytest.raises(CodecError, match="unknown video codec 'hevc'"):
        VideoEncoder("hevc")  # type: ignore[arg-type]


@pytest.mark.parametrize("bps", [0, -1, 10_000_000_000, 1.5, True])
def test_bad_bitrate(bps):
    with pytest.raises(CodecError, match="bitrate"):
        VideoEncoder("av1", bitrate=bps)
    enc = VideoEncoder("av1")
    with pytest.raises(CodecError, match="bitrate"):
        enc.set_bitrate(bps)


def test_odd_dimensions():
    with pytest.raises(CodecError, match="odd video size 321x180"):
        VideoEncoder("av1", width=321, height=180)
    with pytest.raises(CodecError, match="odd"):
        VideoEncoder("av1").set_resolution(640, 361)


def test_wrong_frame_size(face_frames):
    enc = VideoEncoder("av1", width=640, height=360)
    with pytest.raises(CodecError, match="frame is 320x180 but the encoder is 640x360"):
        enc.encode(face_frames[0])


def test_wrong_pixel_format_and_arrays(face_frames):
    import av

    enc = VideoEncoder("h264", width=320, height=180)
    with pytest.raises(CodecError, match="unsupported pixel format"):
        enc.encode(av.VideoFrame(320, 180, "yuv420p10le"))
    with pytest.raises(CodecError, match="uint8"):
        enc.encode(np.zeros((180, 320, 3), dtype=np.float32))
    with pytest.raises(CodecError, match="shape"):
        enc.encode(np.zeros((180, 320, 4), dtype=np.uint8))
    with pytest.raises(CodecError, match=r"expected av\.VideoFrame"):
        enc.encode("not a frame")  # type: ignore[arg-type]
    # The encoder still works after rejecting bad input.
    assert enc.encode(face_frames[0]) + enc.flush()


def test_decoder_rejects_garbage():
    import av

    dec = VideoDecoder("h264")
    garbage = av.Packet(b"\x00\x00\x01\x65" + b"\xff" * 64)
    with pytest.raises(CodecError, match="decoding h264"):
        [dec.decode(garbage) for _ in range(3)]
