"""End-to-end call simulation: real encoders, the controller, and the simulated link.

:func:`simulate_call` streams source frames through an :class:`AdaptiveSender`, cuts
each encoded packet into MTU-sized RTP-like packets, sends them (paced) over a
:class:`NetworkSimulator`, feeds the link's transport feedback to a
:class:`BitrateController`, and plays the receiver: a frame is shown when all its
packets arrived and its reference chain is intact; after a loss the receiver freezes
and asks for a keyframe (PLI). Quality is the PSNR of what is on screen at every source
tick, upscaled to the source size, against the source frame, so freezes and resolution
steps cost quality as a viewer would see it.

The report and how each metric is computed are in :mod:`._call_metrics`; this module is
the call itself.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from contextual_avatar.codecs._adaptive import AdaptiveSender
from contextual_avatar.codecs._config import CodecConfig
from contextual_avatar.codecs._controller import BitrateController
from contextual_avatar.codecs._video import VideoEncoder
from contextual_avatar.codecs._video_decoder import VideoDecoder
from contextual_avatar.codecs.tools._call_metrics import CallReport, fill_metrics
from contextual_avatar.codecs.tools._netsim import CapacityTrace, NetworkSimulator
from contextual_avatar.codecs.tools._quality import yuv_psnr
from contextual_avatar.errors import CodecError

if TYPE_CHECKING:
    import av

__all__ = ["simulate_call"]

_MTU = 1200
_HEADER = 40  # IP/UDP/RTP bytes per packet
_PACING_FACTOR = 2.5
_MAX_PACER_BACKLOG_S = 0.1
_PLAYOUT_DEADLINE_S = 0.4


@dataclass(slots=True)
class _Frame:
    keyframe: bool
    packet: av.Packet[Any]
    sent_at: float
    outstanding: dict[int, int]  # seq -> payload bytes, until it arrives
    retries: int = 0


class _Pacer:
    """Sends packets in time order at ``rate`` bits/s; the link sees monotonic times."""

    def __init__(self, link: NetworkSimulator, controller: BitrateController) -> None:
        self.link = link
        self.controller = controller
        self.free_at = 0.0
        self.delays: list[tuple[float, float]] = []  # (enqueue time, pacer wait + link queue)

    def backlog(self, now: float) -> float:
        return max(0.0, self.free_at - now)

    def send(self, size: int, now: float, rate: float) -> int:
        at = max(now, self.free_at)
        self.free_at = at + size * 8 / rate
        seq = self.link.send(size, at)
        self.controller.on_packet_sent(size, at)
        if self.link.last_queue_delay is not None:
            self.delays.append((now, at - now + self.link.last_queue_delay))
        return seq


def simulate_call(
    frames: Sequence[av.VideoFrame],
    trace: CapacityTrace,
    *,
    duration_s: float,
    source_fps: int = 30,
    config: CodecConfig | None = None,
    max_rung: int = 0,
    base_delay_s: float = 0.04,
    queue_limit_s: float = 1.0,
    measure_quality: bool = True,
    seed: int = 0,
    flat_when_link_limited: bool = False,
) -> CallReport:
    """Simulate one call over a congested link.

    The sender paces packets at 2.5x the target, skips encoding a frame while more than
    ``_MAX_PACER_BACKLOG_S`` waits in the pacer, retransmits packets the receiver
    reports missing (one NACK round per frame), and sends a keyframe on a PLI. The
    receiver shows a frame when complete, gives it up ``_PLAYOUT_DEADLINE_S`` after it
    was sent, and then freezes until a keyframe.

    Args:
        frames: Source frames (looped), all of one size.
        trace: Link capacity and loss schedule.
        duration_s: How long to simulate.
        source_fps: Rate of the source frames.
        config: Codec and controller settings (default :class:`CodecConfig()`).
        max_rung: Highest ladder rung allowed (index into the controller's ladder).
        base_delay_s: One-way propagation delay.
        queue_limit_s: Bottleneck queue limit in seconds of delay.
        measure_quality: Decode and compute PSNR (off makes long sweeps cheaper).
        seed: Seed for the link's loss draws.
        flat_when_link_limited: Passed to :class:`AdaptiveSender`: code SVT-AV1 without
            temporal layers while the controller reports the link as the limit.

    Returns:
        The report.

    Raises:
        CodecError: No frames, or a codec failure.
    """
    if not frames:
        raise CodecError("simulate_call needs at least one source frame")
    cfg = config if config is not None else CodecConfig()
    src_w, src_h = frames[0].width, frames[0].height
    controller = BitrateController(cfg.controller, max_rung=max_rung)
    first = controller.decision
    encoder = VideoEncoder(
        cfg.video_codec,
        width=first.rung.width,
        height=first.rung.height,
        fps=min(first.rung.fps, source_fps),
        bitrate=max(first.video_bps, 20_000),
        svt_preset=cfg.svt_preset,
        vp9_cpu_used=cfg.vp9_cpu_used,
        vp9_error_resilient=cfg.vp9_error_resilient,
        x264_preset=cfg.x264_preset,
        keyframe_interval_s=cfg.keyframe_interval_s,
        threads=cfg.threads,
        resize=True,
    )
    sender = AdaptiveSender(
        encoder, source_fps=source_fps, flat_when_link_limited=flat_when_link_limited
    )
    link = NetworkSimulator(
        trace,
        base_delay_s=base_delay_s,
        queue_limit_s=queue_limit_s,
        rng=random.Random(seed),  # noqa: S311 (simulation)
    )
    pacer = _Pacer(link, controller)
    decoder = VideoDecoder(cfg.video_codec) if measure_quality else None
    report = CallReport(codec=cfg.video_codec, duration_s=duration_s)
    report.decisions.append(first)

    owner: dict[int, _Frame] = {}
    pending: list[_Frame] = []  # frames not yet shown or given up, in order
    to_sender: list[tuple[float, str, int]] = []  # (arrival at sender, "pli"|"nack", bytes)
    broken = False
    last_pli = -math.inf
    highest_arrived = -1
    shown_times: list[float] = []
    on_screen: av.VideoFrame | None = None
    psnrs: list[float] = []
    received_bits = 0
    next_audio = 0.0

    for tick in range(int(duration_s * source_fps)):
        now = tick / source_fps
        # -- sender ------------------------------------------------------------------
        reports = link.feedback(now)
        if reports:
            decision = controller.on_feedback(reports, now)
            report.decisions.append(decision)
            sender.apply(decision, now)
        decision = controller.decision
        pace = max(decision.target_bps * _PACING_FACTOR, 100_000.0)
        due = [m for m in to_sender if m[0] <= now]
        to_sender = [m for m in to_sender if m[0] > now]
        for _, kind, _seq in due:
            if kind == "pli":
                encoder.request_keyframe()
        while next_audio <= now:
            pacer.send(int(decision.audio_bps * 0.02 / 8.0) + _HEADER, next_audio, pace)
            next_audio += 0.02
        for _, kind, payload in due:
            if kind == "nack":
                frame = owner.pop(payload, None)
                if frame is not None:
                    size = frame.outstanding.pop(payload)
                    seq = pacer.send(size + _HEADER, now, pace)
                    frame.outstanding[seq] = size
                    owner[seq] = frame
        source = frames[tick % len(frames)]
        packets = None
        if pacer.backlog(now) <= _MAX_PACER_BACKLOG_S and not controller.window_full:
            packets = sender.encode_video(source)
        for packet in packets or []:
            record = _Frame(bool(packet.is_keyframe), packet, now, {})
            report.keyframes += int(record.keyframe)
            remaining = max(packet.size, 1)
            while remaining > 0:
                payload = min(_MTU, remaining)
                remaining -= payload
                seq = pacer.send(payload + _HEADER, now, pace)
                record.outstanding[seq] = payload
                owner[seq] = record
            pending.append(record)
        # -- receiver ----------------------------------------------------------------
        for arrival in link.arrivals(now):
            received_bits += arrival.size * 8
            highest_arrived = max(highest_arrived, arrival.seq)
            frame = owner.pop(arrival.seq, None)
            if frame is not None:
                frame.outstanding.pop(arrival.seq, None)
        for frame in pending:
            # FIFO link: a missing packet older than one that arrived is lost; NACK once.
            missing = [seq for seq in frame.outstanding if seq < highest_arrived]
            if missing and frame.retries == 0:
                frame.retries = 1
                to_sender.extend((now + base_delay_s, "nack", seq) for seq in missing)
        while pending:
            head = pending[0]
            complete = not head.outstanding
            expired = now - head.sent_at > _PLAYOUT_DEADLINE_S
            if not complete and not expired:
                break
            pending.pop(0)
            for seq in head.outstanding:
                owner.pop(seq, None)
            if not complete or (broken and not head.keyframe):
                if not broken or now - last_pli > 1.0:
                    to_sender.append((now + base_delay_s, "pli", 0))
                    last_pli = now
                    report.plis += 1
                broken = True
                continue
            broken = False
            shown_times.append(now)
            if decoder is not None:
                for decoded in decoder.decode(head.packet):
                    on_screen = decoded
        if measure_quality:
            if on_screen is None:
                psnrs.append(0.0)
            else:
                shown = on_screen
                if (shown.width, shown.height) != (src_w, src_h):
                    shown = shown.reformat(width=src_w, height=src_h, format="yuv420p")
                psnrs.append(yuv_psnr(source, shown))

    report.events = list(sender.events)
    encoder.close()
    fill_metrics(report, link, pacer.delays, trace, shown_times, psnrs, received_bits, duration_s)
    return report
