from __future__ import annotations

import itertools

import numpy as np
import pytest

from contextual_avatar.codecs import OPUS_RATE, MediaCodec, OpusDecoder, OpusEncoder
from contextual_avatar.errors import CodecError


def encode_chunks(enc: OpusEncoder, signal: np.ndarray, chunk: int = 1000, change=None):
    packets = []
    for i in range(0, len(signal), chunk):
        if change is not None and i >= change[0] and enc.bitrate != change[1]:
            enc.set_bitrate(change[1])
        packets += enc.encode(signal[i : i + chunk])
    return packets + enc.flush()


@pytest.mark.parametrize("bitrate", [8_000, 24_000])
def test_round_trip_real_speech(speech, bitrate):
    enc = OpusEncoder(bitrate=bitrate, input_rate=16_000, dtx=False)
    assert isinstance(enc, MediaCodec)
    packets = encode_chunks(enc, speech)
    seconds = len(speech) / 16_000
    assert len(packets) == pytest.approx(seconds / 0.02, abs=2)
    kbps = sum(p.size for p in packets) * 8 / seconds
    assert 0.6 * bitrate < kbps < 1.3 * bitrate
    decoded = OpusDecoder().decode_to_array(packets)
    assert abs(len(decoded) - len(speech) * 3) <= enc.frame_size
    # The decoded speech follows the original's loudness envelope (20 ms frames).
    ref = speech.astype(np.float64) / 32768.0
    ref48 = np.repeat(ref, 3)[: len(decoded)]
    n = len(decoded) // 960
    env_ref = np.sqrt((ref48[: n * 960].reshape(n, 960) ** 2).mean(axis=1))
    env_dec = np.sqrt((decoded[: n * 960].reshape(n, 960).astype(np.float64) ** 2).mean(axis=1))
    lag = 312 // 960  # Opus look-ahead is under one frame
    assert np.corrcoef(env_ref[: n - 1], env_dec[lag : n - 1 + lag])[0, 1] > 0.9


def test_set_bitrate_reopens_and_timestamps_continue(speech):
    enc = OpusEncoder(bitrate=32_000, input_rate=16_000, dtx=False)
    half = len(speech) // 2
    packets = encode_chunks(enc, speech, change=(half, 8_000))
    assert enc.reopens == 1
    steps = {b.pts - a.pts for a, b in itertools.pairwise(packets)}
    assert steps == {960}
    first, second = packets[: len(packets) // 2 - 5], packets[len(packets) // 2 + 5 :]
    assert np.mean([p.size for p in second]) < 0.5 * np.mean([p.size for p in first])


def test_dtx_skips_silence(speech):
    silence = np.zeros(16_000 * 2, dtype=np.int16)
    signal = np.concatenate([speech[:16_000], silence, speech[:16_000]])
    with_dtx = encode_chunks(OpusEncoder(bitrate=16_000, input_rate=16_000, dtx=True), signal)
    enc = OpusEncoder(bitrate=16_000, input_rate=16_000, dtx=False)
    without = encode_chunks(enc, signal)
    # Two seconds of silence: ~100 frames, of which DTX keeps one per 400 ms.
    assert len(without) - len(with_dtx) >= 90
    assert OpusDecoder().decode_to_array(with_dtx).size > 0


def test_float_and_av_frame_input(speech):
    import av

    enc = OpusEncoder(bitrate=16_000, input_rate=16_000)
    as_float = (speech[:8000] / 32768.0).astype(np.float32)
    frame = av.AudioFrame.from_ndarray(speech[None, 8000:16000], format="s16", layout="mono")
    frame.sample_rate = 16_000
    packets = enc.encode(as_float) + enc.encode(frame) + enc.flush()
    assert len(packets) in (50, 51)  # 1 s of audio, plus the look-ahead tail
    assert enc.time_base.denominator == OPUS_RATE


@pytest.mark.parametrize("bps", [0, 5_999, 600_000, "32k"])
def test_bad_bitrate(bps):
    with pytest.raises(CodecError, match="bitrate"):
        OpusEncoder(bitrate=bps)


def test_bad_audio_input():
    enc = OpusEncoder()
    with pytest.raises(CodecError, match="int16 or float32"):
        enc.encode(np.zeros(960, dtype=np.float64))
    with pytest.raises(CodecError, match="channels"):
        enc.encode(np.zeros((3, 960), dtype=np.int16))
    with pytest.raises(CodecError, match=r"expected av\.AudioFrame"):
        enc.encode([0, 1, 2])  # type: ignore[arg-type]
    with pytest.raises(CodecError, match="frame_ms"):
        OpusEncoder(frame_ms=25)


def test_decoder_rejects_garbage():
    import av

    with pytest.raises(CodecError, match="Opus"):
        OpusDecoder().decode(av.Packet(b"\xff\xff\xff"))
