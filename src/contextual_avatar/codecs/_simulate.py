"""End-to-end call simulation: real encoders, the controller, and the simulated link.

:func:`simulate_call` streams source frames through an :class:`AdaptiveSender`, cuts
each encoded packet into MTU-sized RTP-like packets, sends them (paced) over a
:class:`NetworkSimulator`, feeds the link's transport feedback to a
:class:`BitrateController`, and plays the receiver: a frame is shown when all its
packets arrived and its reference chain is intact; after a loss the receiver freezes
and asks for a keyframe (PLI). Quality is the PSNR of what is on screen at every source
tick, upscaled to the source size, against the source frame, so freezes and resolution
steps cost quality as a viewer would see it.

Metrics (all from virtual time, see ``docs/codecs.md``):

* ``overshoot_pct``: peak of (sent bits / capacity bits - 1) over 1 s windows stepped by
  0.5 s, excluding windows that overlap the first second after a capacity drop (the
  reaction allowance, which ``recovery_s`` measures instead);
* ``recovery_s``: per capacity drop, time from the drop to the last packet that
  queued >= 100 ms (pacer wait + bottleneck queue) before a full second of packets
  under 100 ms;
* ``frozen_s``: total time of display gaps longer than max(3 x mean interval, mean + 150 ms)
  (WebRTC's freeze definition), plus a trailing gap;
* ``mean_psnr``: mean on-screen PSNR over all ticks (0 dB until the first frame).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from contextual_avatar.codecs._adaptive import AdaptiveSender, SenderEvent
from contextual_avatar.codecs._config import CodecConfig
from contextual_avatar.codecs._controller import BitrateController, RateDecision
from contextual_avatar.codecs._netsim import CapacityTrace, NetworkSimulator
from contextual_avatar.codecs._quality import yuv_psnr
from contextual_avatar.codecs._video import VideoDecoder, VideoEncoder
from contextual_avatar.errors import CodecError

if TYPE_CHECKING:
    import av

__all__ = ["CallReport", "TimelineSample", "simulate_call"]

_MTU = 1200
_HEADER = 40  # IP/UDP/RTP bytes per packet
_PACING_FACTOR = 2.5
_MAX_PACER_BACKLOG_S = 0.1
_PLAYOUT_DEADLINE_S = 0.4
_RECOVERED_QUEUE_S = 0.1
_RECOVERED_HOLD_S = 1.0


@dataclass(frozen=True, slots=True)
class TimelineSample:
    """State every 100 ms of simulated time.

    Parameters:
        time_s: Start of the 100 ms bin.
        capacity_bps: Link capacity.
        sent_bps: Bits the sender put on the wire in the bin, per second.
        target_bps: Controller total target.
        video_bps: Video encoder bitrate.
        queue_delay_s: Worst pacer wait + bottleneck queueing in the bin.
        rung: ``WxH@fps`` being encoded.
    """

    time_s: float
    capacity_bps: float
    sent_bps: float
    target_bps: int
    video_bps: int
    queue_delay_s: float
    rung: str


@dataclass(slots=True)
class CallReport:
    """Outcome of :func:`simulate_call`.

    Parameters:
        codec: Video codec used.
        duration_s: Simulated time.
        overshoot_pct: Peak overshoot above capacity (see module docstring).
        excess_pct: All bits sent above capacity, as % of the capacity over the call.
        recovery_s: Recovery time after each capacity drop (None if never recovered).
        frozen_s: Total frozen display time.
        mean_psnr: Mean on-screen PSNR in dB.
        delivered_bps: Mean video+audio bits received per second.
        utilisation: Received bits over capacity bits.
        keyframes: Keyframes sent.
        plis: Keyframe requests the receiver sent.
        frames_shown: Frames displayed.
        timeline: One sample per 100 ms.
        decisions: Every controller decision.
        events: Every change applied to the encoders.
    """

    codec: str
    duration_s: float
    overshoot_pct: float = 0.0
    excess_pct: float = 0.0
    recovery_s: list[float | None] = field(default_factory=list)
    frozen_s: float = 0.0
    mean_psnr: float = 0.0
    delivered_bps: float = 0.0
    utilisation: float = 0.0
    keyframes: int = 0
    plis: int = 0
    frames_shown: int = 0
    timeline: list[TimelineSample] = field(default_factory=list)
    decisions: list[RateDecision] = field(default_factory=list)
    events: list[SenderEvent] = field(default_factory=list)


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
    _fill_metrics(report, link, pacer, trace, shown_times, psnrs, received_bits, duration_s)
    return report


def _fill_metrics(
    report: CallReport,
    link: NetworkSimulator,
    pacer: _Pacer,
    trace: CapacityTrace,
    shown: list[float],
    psnrs: list[float],
    received_bits: int,
    duration: float,
) -> None:
    sent = np.array(link.sent_bits, dtype=np.float64).reshape(-1, 2)
    drops = [
        b.time_s
        for a, b in zip(trace.points, trace.points[1:], strict=False)
        if b.capacity_bps < a.capacity_bps and b.time_s < duration
    ]
    # Overshoot over 1 s windows.
    worst = 0.0
    start = 0.0
    while start + 1.0 <= duration + 1e-9:
        end = start + 1.0
        if not any(d < end and start < d + 1.0 for d in drops):
            mask = (sent[:, 0] >= start) & (sent[:, 0] < end)
            bits = float(sent[mask, 1].sum())
            worst = max(worst, bits / trace.bits_between(start, end) - 1.0)
        start += 0.5
    report.overshoot_pct = 100.0 * worst
    # Excess bits, in 100 ms bins.
    excess = 0.0
    capacity_total = trace.bits_between(0.0, duration)
    qd = np.array(pacer.delays, dtype=np.float64).reshape(-1, 2)
    for k in range(int(duration * 10)):
        t0, t1 = k / 10.0, (k + 1) / 10.0
        mask = (sent[:, 0] >= t0) & (sent[:, 0] < t1)
        bits = float(sent[mask, 1].sum())
        cap = trace.bits_between(t0, t1)
        excess += max(0.0, bits - cap)
        qmask = (qd[:, 0] >= t0) & (qd[:, 0] < t1)
        decision = _decision_at(report.decisions, t0)
        report.timeline.append(
            TimelineSample(
                time_s=t0,
                capacity_bps=trace.capacity_at(t0),
                sent_bps=bits * 10.0,
                target_bps=decision.target_bps,
                video_bps=decision.video_bps,
                queue_delay_s=float(qd[qmask, 1].max()) if qmask.any() else 0.0,
                rung=f"{decision.rung.width}x{decision.rung.height}@{decision.rung.fps}",
            )
        )
    report.excess_pct = 100.0 * excess / capacity_total
    # Recovery after each drop.
    for drop in drops:
        report.recovery_s.append(_recovery(qd, drop, duration))
    # Freezes.
    if len(shown) >= 2:
        gaps = np.diff(np.array(shown))
        mean = float(gaps.mean())
        limit = max(3.0 * mean, mean + 0.150)
        frozen = float(gaps[gaps > limit].sum())
        tail = duration - shown[-1]
        report.frozen_s = frozen + (tail if tail > limit else 0.0)
    else:
        report.frozen_s = duration
    report.frames_shown = len(shown)
    report.mean_psnr = float(np.mean(psnrs)) if psnrs else 0.0
    report.delivered_bps = received_bits / duration
    report.utilisation = received_bits / capacity_total


def _decision_at(decisions: list[RateDecision], t: float) -> RateDecision:
    current = decisions[0]
    for decision in decisions:
        if decision.time_s > t:
            break
        current = decision
    return current


def _recovery(qd: np.ndarray[Any, Any], drop: float, duration: float) -> float | None:
    """Time from ``drop`` to the last packet queued >= 100 ms in that congestion episode.

    The episode ends once 1 s passes with every packet under 100 ms; if none exceeded
    100 ms within 2 s of the drop, recovery is 0. None means it never ended.
    """
    last_bad: float | None = None
    for t, q in qd[qd[:, 0] >= drop]:
        if q >= _RECOVERED_QUEUE_S:
            last_bad = float(t)
        elif last_bad is not None and t - last_bad >= _RECOVERED_HOLD_S:
            return last_bad - drop
        elif last_bad is None and t - drop >= 2.0:
            return 0.0
    if last_bad is None:
        return 0.0
    return None if duration - last_bad < _RECOVERED_HOLD_S else last_bad - drop
