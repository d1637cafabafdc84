"""Opus voice encoder and decoder over PyAV's libopus.

Tuned for speech: ``application=voip``, 20 ms frames, in-band FEC planned for an
expected loss rate, VBR. FFmpeg's libopus wrapper reads the bitrate only at open, so
:meth:`OpusEncoder.set_bitrate` reopens it (sub-millisecond; Opus has no keyframes, the
decoder simply continues). The wrapper does not expose ``OPUS_SET_DTX`` either, so
discontinuous transmission is done here: a frame whose level is below
``dtx_threshold_dbfs`` is not sent, except one packet every 400 ms to keep the
receiver's comfort noise alive (what libopus DTX does on the wire).

Input of any rate and layout is resampled to 48 kHz mono and cut into whole Opus
frames; packet timestamps count samples at 48 kHz and stay continuous.
"""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Any, Final, Literal

import numpy as np

from contextual_avatar.codecs._av import av_errors, require_av
from contextual_avatar.codecs._config import (
    DEFAULT_AUDIO_BITRATE,
    DEFAULT_OPUS_EXPECTED_LOSS_PCT,
    DEFAULT_OPUS_FRAME_MS,
    MAX_AUDIO_BITRATE,
    MIN_AUDIO_BITRATE,
    CodecConfig,
    OpusApplication,
)
from contextual_avatar.codecs._frames import to_audio_frame
from contextual_avatar.errors import CodecError

if TYPE_CHECKING:
    import av

__all__ = ["OPUS_RATE", "OpusDecoder", "OpusEncoder"]

OPUS_RATE: Final = 48_000
"""Opus always codes at 48 kHz here; packet timestamps count these samples."""

_DTX_KEEPALIVE_S: Final = 0.4
_APPLICATIONS: Final = ("voip", "audio", "lowdelay")


def _check_bitrate(bps: int) -> int:
    if isinstance(bps, bool) or not isinstance(bps, int):
        raise CodecError(f"bitrate must be an int in bits/s, got {bps!r}")
    if not MIN_AUDIO_BITRATE <= bps <= MAX_AUDIO_BITRATE:
        raise CodecError(
            f"Opus bitrate {bps} bit/s is outside [{MIN_AUDIO_BITRATE}, {MAX_AUDIO_BITRATE}]"
        )
    return bps


class OpusEncoder:
    """Opus voice encoder (mono, 48 kHz) with FEC and sender-side DTX."""

    def __init__(
        self,
        *,
        bitrate: int = DEFAULT_AUDIO_BITRATE,
        frame_ms: int = DEFAULT_OPUS_FRAME_MS,
        application: OpusApplication = "voip",
        fec: bool = True,
        dtx: bool = True,
        expected_loss_pct: int = DEFAULT_OPUS_EXPECTED_LOSS_PCT,
        dtx_threshold_dbfs: float = -55.0,
        input_rate: int = OPUS_RATE,
    ) -> None:
        """Create the encoder (libopus opens on the first frame).

        Args:
            bitrate: Target bitrate in bits/s (6,000-510,000).
            frame_ms: Frame duration: 10, 20, 40 or 60 ms.
            application: ``"voip"`` for speech, ``"audio"`` or ``"lowdelay"``.
            fec: Enable in-band forward error correction.
            dtx: Do not send silent frames (one keep-alive packet per 400 ms).
            expected_loss_pct: Loss rate (0-100) libopus sizes its FEC for.
            dtx_threshold_dbfs: RMS level below which a frame counts as silent.
            input_rate: Sample rate of numpy input in Hz.

        Raises:
            CodecError: An invalid setting.
        """
        require_av()
        self._bitrate = _check_bitrate(bitrate)
        if frame_ms not in (10, 20, 40, 60):
            raise CodecError(f"frame_ms must be 10, 20, 40 or 60, got {frame_ms}")
        if application not in _APPLICATIONS:
            raise CodecError(f"unknown Opus application {application!r}")
        if not 0 <= expected_loss_pct <= 100:
            raise CodecError(f"expected_loss_pct must be 0-100, got {expected_loss_pct}")
        if not 8_000 <= input_rate <= 192_000:
            raise CodecError(f"input_rate {input_rate} Hz is out of range")
        self._frame_ms = frame_ms
        self._frame_size = OPUS_RATE * frame_ms // 1000
        self._application = application
        self._fec = fec
        self._dtx = dtx
        self._expected_loss_pct = expected_loss_pct
        self._dtx_threshold = 10.0 ** (dtx_threshold_dbfs / 20.0) * 32768.0
        self._input_rate = input_rate
        self._ctx: Any = None
        self._resampler: Any = None
        self._resampler_key: tuple[str, str, int] | None = None
        self._fifo: Any = None
        self._samples_out = 0  # 48 kHz samples handed to libopus, for timestamps
        self._since_sent = 0  # samples since the last packet actually emitted
        self._reopens = 0
        self._dtx_dropped = 0

    @classmethod
    def from_config(cls, config: CodecConfig, *, input_rate: int = OPUS_RATE) -> OpusEncoder:
        """Create an encoder from a :class:`CodecConfig`.

        Args:
            config: The codec settings.
            input_rate: Sample rate of numpy input in Hz.

        Returns:
            The encoder.
        """
        return cls(
            bitrate=config.audio_bitrate,
            frame_ms=config.opus_frame_ms,
            application=config.opus_application,
            fec=config.opus_fec,
            dtx=config.opus_dtx,
            expected_loss_pct=config.opus_expected_loss_pct,
            input_rate=input_rate,
        )

    @property
    def kind(self) -> Literal["audio"]:
        """Always ``"audio"``."""
        return "audio"

    @property
    def bitrate(self) -> int:
        """Current target in bits/s."""
        return self._bitrate

    @property
    def time_base(self) -> Fraction:
        """Unit of packet timestamps: 1/48000 s."""
        return Fraction(1, OPUS_RATE)

    @property
    def frame_size(self) -> int:
        """Samples per Opus frame at 48 kHz."""
        return self._frame_size

    @property
    def reopens(self) -> int:
        """How many times libopus was reopened to apply a new bitrate."""
        return self._reopens

    @property
    def dtx_dropped(self) -> int:
        """Silent frames not sent because of DTX."""
        return self._dtx_dropped

    def set_bitrate(self, bps: int) -> None:
        """Retarget to ``bps`` bits/s from the next frame (reopens libopus).

        Args:
            bps: Target bitrate in bits/s.

        Raises:
            CodecError: ``bps`` is not an int in [6000, 510000].
        """
        bps = _check_bitrate(bps)
        if bps != self._bitrate:
            self._bitrate = bps
            if self._ctx is not None:
                self._ctx = None  # libopus buffers nothing between whole frames
                self._reopens += 1

    def set_expected_loss(self, pct: int) -> None:
        """Tell libopus how much loss to plan FEC for (applied at the next reopen).

        Args:
            pct: Expected packet loss in percent, 0-100.

        Raises:
            CodecError: Out of range.
        """
        if not 0 <= pct <= 100:
            raise CodecError(f"expected loss must be 0-100, got {pct}")
        self._expected_loss_pct = pct

    def encode(self, frame: av.AudioFrame | np.ndarray[Any, Any]) -> list[av.Packet[Any]]:
        """Encode audio of any length; whole Opus frames are coded, the rest waits.

        Args:
            frame: A PyAV audio frame, or an ``int16``/``float32`` numpy array at
                ``input_rate`` (``(n,)`` or ``(channels, n)``).

        Returns:
            Opus packets ready now (one per frame, minus DTX-suppressed ones).

        Raises:
            CodecError: The input was rejected or libopus failed.
        """
        avm = require_av()
        src = to_audio_frame(frame, input_rate=self._input_rate)
        src.pts = None
        key = (src.format.name, src.layout.name, src.sample_rate)
        if self._resampler is not None and key != self._resampler_key:
            self._drain_resampler()  # input format changed: finish the old resampler
            self._resampler = None
        if self._resampler is None:
            self._resampler = avm.AudioResampler(format="s16", layout="mono", rate=OPUS_RATE)
            self._resampler_key = key
        if self._fifo is None:
            self._fifo = avm.AudioFifo()
        with av_errors("resampling audio"):
            for chunk in self._resampler.resample(src):
                chunk.pts = None
                self._fifo.write(chunk)
        return self._drain(final=False)

    def flush(self) -> list[av.Packet[Any]]:
        """Encode what is buffered (the last frame is padded with silence).

        libopus is drained to end of stream and dropped, so the next frame reopens it
        (as after a retarget) and timestamps continue.

        Returns:
            The remaining packets.
        """
        if self._fifo is None:
            return []
        self._drain_resampler()
        self._resampler = None
        out = self._drain(final=True)
        if self._ctx is not None:
            ctx, self._ctx = self._ctx, None  # past end of stream it accepts no frame
            with av_errors("flushing libopus"):
                tail = [self._stamp(p) for p in ctx.encode(None)]
            # The look-ahead tail comes out as whole frames; the next session starts after.
            self._samples_out += self._frame_size * len(tail)
            out.extend(tail)
        return out

    def close(self) -> None:
        """Release libopus and the resampler."""
        self._ctx = None
        self._resampler = None
        self._fifo = None

    def __enter__(self) -> OpusEncoder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _drain_resampler(self) -> None:
        if self._resampler is None:
            return
        with av_errors("flushing the resampler"):
            for chunk in self._resampler.resample(None):
                chunk.pts = None
                self._fifo.write(chunk)

    def _drain(self, *, final: bool) -> list[av.Packet[Any]]:
        avm = require_av()
        out: list[av.Packet[Any]] = []
        while self._fifo.samples >= self._frame_size or (final and self._fifo.samples > 0):
            if self._fifo.samples >= self._frame_size:
                chunk = self._fifo.read(self._frame_size)
            else:
                tail = self._fifo.read().to_ndarray()
                padded = np.zeros((1, self._frame_size), dtype=np.int16)
                padded[:, : tail.shape[1]] = tail
                chunk = avm.AudioFrame.from_ndarray(padded, format="s16", layout="mono")
                chunk.sample_rate = OPUS_RATE
            silent = self._is_silent(chunk)
            chunk.pts = self._samples_out
            chunk.time_base = Fraction(1, OPUS_RATE)
            ctx = self._ensure_open()
            with av_errors("encoding with libopus"):
                packets = list(ctx.encode(chunk))
            self._samples_out += self._frame_size
            self._since_sent += self._frame_size
            for packet in packets:
                keepalive = self._since_sent >= _DTX_KEEPALIVE_S * OPUS_RATE
                if self._dtx and silent and not keepalive:
                    self._dtx_dropped += 1
                    continue
                self._since_sent = 0
                out.append(self._stamp(packet))
        return out

    def _is_silent(self, chunk: av.AudioFrame) -> bool:
        samples = chunk.to_ndarray().astype(np.float64)
        return bool(np.sqrt(np.mean(samples * samples)) < self._dtx_threshold)

    def _stamp(self, packet: av.Packet[Any]) -> av.Packet[Any]:
        packet.time_base = Fraction(1, OPUS_RATE)
        packet.duration = self._frame_size
        return packet

    def _ensure_open(self) -> Any:
        if self._ctx is not None:
            return self._ctx
        avm = require_av()
        with av_errors(f"opening libopus at {self._bitrate} bit/s"):
            ctx = avm.CodecContext.create("libopus", "w")
            ctx.sample_rate = OPUS_RATE
            ctx.layout = "mono"
            ctx.format = "s16"
            ctx.time_base = Fraction(1, OPUS_RATE)
            ctx.bit_rate = self._bitrate
            ctx.options = {
                "application": self._application,
                "frame_duration": str(self._frame_ms),
                "packet_loss": str(self._expected_loss_pct),
                "fec": "1" if self._fec else "0",
                "vbr": "on",
            }
            ctx.open()
        self._ctx = ctx
        return ctx


class OpusDecoder:
    """Opus decoder producing 48 kHz mono float frames."""

    def __init__(self) -> None:
        """Create the decoder.

        Raises:
            MissingDependencyError: PyAV is not installed.
        """
        avm = require_av()
        with av_errors("opening the Opus decoder"):
            self._ctx = avm.CodecContext.create("libopus", "r")
            self._ctx.sample_rate = OPUS_RATE
            self._ctx.layout = "mono"

    def decode(self, packet: av.Packet[Any] | None) -> list[av.AudioFrame]:
        """Decode one Opus packet (None flushes).

        Args:
            packet: A packet from :class:`OpusEncoder`.

        Returns:
            Decoded frames.

        Raises:
            CodecError: The packet is not valid Opus.
        """
        with av_errors("decoding Opus"):
            frames: list[av.AudioFrame] = list(self._ctx.decode(packet))
        return frames

    def decode_to_array(
        self, packets: list[av.Packet[Any]]
    ) -> np.ndarray[Any, np.dtype[np.float32]]:
        """Decode packets back to back into one float32 mono signal at 48 kHz.

        Args:
            packets: Packets in order (gaps, e.g. from DTX, are simply skipped).

        Returns:
            The concatenated samples.
        """
        parts = [f.to_ndarray().reshape(-1) for p in packets for f in self.decode(p)]
        if not parts:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate(parts).astype(np.float32)
