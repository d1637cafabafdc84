"""The congestion-aware bitrate controller: GCC-style delay and loss control plus a ladder.

Fed with transport feedback (:class:`~contextual_avatar.codecs.PacketReport`), it keeps

* a **delay-based** estimate: AIMD driven by the :class:`OveruseDetector` (and by a
  standing queue above ``overuse_queue_s``). On overuse the target drops once to ``beta``
  x the receive rate measured while the queue stands; the queue itself is drained by
  congestion-window pushback (:attr:`BitrateController.window_full`: the sender skips
  video frames while too many bits are unreported), which keeps recovery under about a
  second without cutting the encoder to the floor. If the rate measured under the standing
  queue (median of 150 ms receive rates, from 3 samples on) shows the target still above
  the bottleneck (the one-shot decrease saw arrivals from before the drop), the target is
  cut again to ``beta`` x that rate at once rather than after the drain period. With
  ``pushback=False`` the target is also lowered by the queued bits divided by
  ``drain_time_s``. Normal use grows the
  target multiplicatively (8 %/s) far from the last congested rate and additively near it;
* a **loss-based** estimate: above ``loss_high`` it shrinks by half the loss rate,
  below ``loss_low`` it may grow again;
* the **split** of the minimum of the two between Opus and video, and the **ladder**
  rung (resolution, frame rate) the video bitrate can carry, stepping down at once and
  up only after ``step_up_hold_s`` of headroom.

Everything is pure arithmetic on the reports and the given ``now``: no clock, no I/O.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from contextual_avatar.codecs._config import ControllerConfig, LadderRung
from contextual_avatar.codecs._feedback import PacketReport
from contextual_avatar.codecs._gcc import BandwidthUsage, OveruseDetector, TrendlineEstimator

__all__ = ["BitrateController", "RateDecision"]

RateState = Literal["increase", "hold", "decrease"]

_ACK_WINDOW_S = 0.5
_LOSS_WINDOW_S = 0.5
_MIN_LOSS_SAMPLE = 10
_DECREASE_GUARD_S = 0.3
_MIN_DRAIN_SAMPLES = 3
_STEP_UP_MARGIN = 1.15


@dataclass(frozen=True, slots=True)
class RateDecision:
    """What the controller wants the sender to do now.

    Parameters:
        time_s: When the decision was made.
        target_bps: Total media bitrate (video + audio).
        video_bps: Video share.
        audio_bps: Opus share.
        rung: Resolution and frame rate to encode at.
        usage: Delay detector verdict.
        state: AIMD state after this update.
        delay_bps: Delay-based estimate.
        loss_bps: Loss-based estimate.
        loss: Loss fraction over the last half second.
        acked_bps: Measured receive rate.
        queue_delay_s: Estimated standing queue (one-way delay above its minimum).
        link_limited: The target sits near a capacity measured at the last over-use
            (from that over-use until the target grows past 1.5x the rate measured
            then): frames larger than the mean would queue on the link.
    """

    time_s: float
    target_bps: int
    video_bps: int
    audio_bps: int
    rung: LadderRung
    usage: BandwidthUsage
    state: RateState
    delay_bps: int
    loss_bps: int
    loss: float
    acked_bps: int
    queue_delay_s: float
    link_limited: bool = False


class BitrateController:
    """GCC-like sender-side bandwidth estimation driving Opus, video and the ladder."""

    def __init__(self, config: ControllerConfig | None = None, *, max_rung: int = 0) -> None:
        """Create the controller.

        Args:
            config: Tuning; defaults to :class:`ControllerConfig()`.
            max_rung: Index of the highest ladder rung allowed (e.g. the source's size).
        """
        self._cfg = config if config is not None else ControllerConfig()
        if not 0 <= max_rung < len(self._cfg.ladder):
            raise ValueError(f"max_rung {max_rung} outside the ladder")
        self._max_rung = max_rung
        self._trend = TrendlineEstimator(window=self._cfg.trendline_window)
        self._detector = OveruseDetector(initial_threshold_ms=self._cfg.initial_threshold_ms)
        self._delay_bps = float(self._cfg.start_bitrate)
        self._loss_bps = float(self._cfg.start_bitrate)
        self._state: RateState = "hold"
        self._usage: BandwidthUsage = "normal"
        self._last_update: float | None = None
        self._last_decrease = -math.inf
        self._last_loss_decrease = -math.inf
        self._link_capacity: float | None = None  # receive rate at the last overuse
        self._acked: deque[tuple[float, int]] = deque()
        self._loss_window: deque[tuple[float, bool]] = deque()
        self._owd: deque[tuple[float, float]] = deque()  # (arrival, one-way delay)
        self._drain_end = math.inf
        self._drain_rate = 0.0
        self._drain_samples: list[float] = []
        self._sent_bits = 0.0
        self._newest_send = -math.inf
        self._reported_bits = 0.0
        self._min_owd = math.inf
        self._recent_owd = 0.0
        self._rung_index = self._initial_rung()
        self._step_up_since: float | None = None
        self._decision = self._decide(0.0, loss=0.0, acked=0.0)

    @property
    def decision(self) -> RateDecision:
        """The latest decision."""
        return self._decision

    def _initial_rung(self) -> int:
        video = self._split(float(self._cfg.start_bitrate))[0]
        for index in range(self._max_rung, len(self._cfg.ladder)):
            if video >= self._cfg.ladder[index].min_bitrate:
                return index
        return len(self._cfg.ladder) - 1

    def on_packet_sent(self, size: int, now: float) -> None:
        """Count a packet put on the wire (bytes), so the standing queue can be estimated.

        Optional: without it the queue is estimated from one-way delay alone.

        Args:
            size: Bytes sent.
            now: Send time (s).
        """
        self._sent_bits += size * 8

    @property
    def window_full(self) -> bool:
        """Whether video should pause now (congestion-window pushback).

        True while the bits sent but not yet reported exceed the current target times
        (base round trip + ``pushback_window_s``). Needs :meth:`on_packet_sent`; always
        False when pushback is off or before the first delay sample.
        """
        if not self._cfg.pushback or not math.isfinite(self._min_owd):
            return False
        window = self._decision.target_bps * (2.0 * self._min_owd + self._cfg.pushback_window_s)
        return self.in_flight_bits > window

    @property
    def in_flight_bits(self) -> float:
        """Bits sent but not yet reported (0 if sends are not reported)."""
        return max(0.0, self._sent_bits - self._reported_bits)

    def on_feedback(self, reports: Sequence[PacketReport], now: float) -> RateDecision:
        """Update the estimates from one batch of transport feedback.

        Args:
            reports: Reports for packets, in send order, as they reached the sender.
            now: Current time (s).

        Returns:
            The new decision.
        """
        usage_seen: BandwidthUsage = "normal"
        for report in reports:
            self._reported_bits += report.size * 8
            self._newest_send = max(self._newest_send, report.send_time)
            self._loss_window.append((now, report.lost))
            if report.arrival_time is None:
                continue
            self._acked.append((report.arrival_time, report.size * 8))
            owd = report.arrival_time - report.send_time
            self._owd.append((report.arrival_time, owd))
            delta = self._trend.update(report.send_time, report.arrival_time)
            if delta is not None:
                usage = self._detector.detect(self._trend.modified_trend, self._trend.trend, delta)
                if usage == "overuse" or (usage == "underuse" and usage_seen == "normal"):
                    usage_seen = usage
        self._trim(now)
        acked = self._acked_rate(now)
        loss = self._loss_fraction()
        self._usage = usage_seen if reports else self._usage
        if reports and self.queue_delay_s > self._cfg.overuse_queue_s:
            self._usage = "overuse"
        self._update_delay_based(now, acked)
        self._update_loss_based(now, loss)
        self._last_update = now
        self._decision = self._decide(now, loss=loss, acked=acked)
        return self._decision

    # -- measurements ------------------------------------------------------------------

    def _trim(self, now: float) -> None:
        while self._acked and self._acked[0][0] < now - _ACK_WINDOW_S - 0.2:
            self._acked.popleft()
        while self._loss_window and self._loss_window[0][0] < now - _LOSS_WINDOW_S:
            self._loss_window.popleft()
        while self._owd and self._owd[0][0] < now - 10.0:
            self._owd.popleft()
        if self._owd:
            self._min_owd = min(d for _, d in self._owd)
            latest = self._owd[-1][0]
            recent = [d for t, d in self._owd if t >= latest - 0.1]
            self._recent_owd = min(recent)

    def _acked_rate(self, now: float) -> float:
        if not self._acked:
            return 0.0
        newest = self._acked[-1][0]
        bits = sum(b for t, b in self._acked if t > newest - _ACK_WINDOW_S)
        span = min(_ACK_WINDOW_S, max(newest - self._acked[0][0], 0.1))
        return bits / span

    def _recent_acked_rate(self) -> float:
        """Receive rate over the newest 150 ms: the bottleneck rate while a queue stands."""
        if len(self._acked) < 2:
            return 0.0
        newest = self._acked[-1][0]
        window = [(t, b) for t, b in self._acked if t > newest - 0.15]
        if len(window) < 3:
            return 0.0
        span = newest - window[0][0]
        return sum(b for _, b in window[1:]) / span if span > 0 else 0.0

    def _loss_fraction(self) -> float:
        if len(self._loss_window) < _MIN_LOSS_SAMPLE:
            return 0.0
        return sum(1 for _, lost in self._loss_window if lost) / len(self._loss_window)

    @property
    def queue_delay_s(self) -> float:
        """Estimated standing queue: recent one-way delay above the 10 s minimum."""
        if not self._owd:
            return 0.0
        return max(0.0, self._recent_owd - self._min_owd)

    # -- delay-based AIMD -------------------------------------------------------------

    def _update_delay_based(self, now: float, acked: float) -> None:
        cfg = self._cfg
        dt = 0.0 if self._last_update is None else max(0.0, now - self._last_update)
        if math.isfinite(self._drain_end):
            recent = self._recent_acked_rate()
            if now < self._drain_end:
                if self.queue_delay_s > 0.02 and recent > 0:
                    # While a queue stands, arrivals come at exactly the bottleneck rate.
                    self._drain_samples.append(recent)
                    if len(self._drain_samples) >= _MIN_DRAIN_SAMPLES:
                        bottleneck = statistics.median(self._drain_samples)
                        if self._delay_bps > bottleneck:
                            # The one-shot decrease measured a receive rate that still
                            # held arrivals from before the drop and left the target
                            # above the bottleneck: correct it now, not a drain later.
                            self._delay_bps = cfg.beta * bottleneck
                            self._link_capacity = bottleneck
            else:
                # The queue is drained: resume at beta x the rate measured under it.
                if self._drain_samples:
                    self._drain_rate = sorted(self._drain_samples)[len(self._drain_samples) // 2]
                    self._link_capacity = self._drain_rate
                    self._delay_bps = max(self._delay_bps, cfg.beta * self._drain_rate)
                self._drain_end = math.inf
        if self._usage == "overuse":
            self._state = "decrease"
        elif self._usage == "underuse":
            self._state = "hold"
        elif self._state != "increase":
            self._state = "increase"
        if self._state == "decrease":
            recent = self._recent_acked_rate()
            rate = min(acked, recent) if recent > 0 else acked
            draining = math.isfinite(self._drain_end)
            # React once per episode: reports of packets sent before the last decrease
            # describe the queue that decrease is already draining.
            fresh = self._newest_send > self._last_decrease
            if (
                not draining
                and fresh
                and now - self._last_decrease >= _DECREASE_GUARD_S
                and rate > 0
            ):
                # Bits standing in the queue: the larger of the delay-based view and the
                # unreported bits beyond one base round trip (when sends are reported).
                target = cfg.beta * rate
                if not cfg.pushback:
                    base_rtt = 2.0 * self._min_owd if math.isfinite(self._min_owd) else 0.0
                    queued_bits = max(
                        self.queue_delay_s * rate, self.in_flight_bits - rate * base_rtt
                    )
                    target -= queued_bits / cfg.drain_time_s
                target = max(target, float(cfg.min_bitrate))
                self._delay_bps = min(self._delay_bps, target)
                self._link_capacity = rate
                self._drain_end = now + cfg.drain_time_s
                self._drain_rate = 0.0
                self._drain_samples = []
                self._last_decrease = now
            self._state = "hold"
        elif self._state == "increase" and dt > 0:
            before = self._delay_bps
            near = self._link_capacity is not None and self._delay_bps > 0.9 * self._link_capacity
            if near:
                self._delay_bps += 1200 * 8 * dt / 0.2  # about one packet per response time
            else:
                self._delay_bps *= (1.0 + cfg.increase_per_s) ** dt
            if acked > 0:
                # Do not grow far ahead of what the network has actually delivered (the
                # encoder may undershoot); this only stops growth, it never cuts.
                self._delay_bps = min(self._delay_bps, max(before, 1.5 * acked + 10_000.0))
            if self._link_capacity is not None and self._delay_bps > 1.5 * self._link_capacity:
                self._link_capacity = None  # the link got faster; back to fast probing
        self._delay_bps = min(max(self._delay_bps, float(cfg.min_bitrate)), float(cfg.max_bitrate))

    # -- loss-based --------------------------------------------------------------------

    def _update_loss_based(self, now: float, loss: float) -> None:
        cfg = self._cfg
        dt = 0.0 if self._last_update is None else max(0.0, now - self._last_update)
        current = min(self._loss_bps, self._delay_bps)
        if loss > cfg.loss_high:
            if now - self._last_loss_decrease >= _DECREASE_GUARD_S:
                self._loss_bps = current * (1.0 - 0.5 * loss)
                self._last_loss_decrease = now
        elif loss < cfg.loss_low:
            self._loss_bps *= (1.0 + cfg.increase_per_s) ** dt
        self._loss_bps = min(max(self._loss_bps, float(cfg.min_bitrate)), float(cfg.max_bitrate))

    # -- split and ladder --------------------------------------------------------------

    def _split(self, total: float) -> tuple[int, int]:
        cfg = self._cfg
        audio = min(max(total * cfg.audio_share, cfg.min_audio_bitrate), cfg.max_audio_bitrate)
        video = max(total - audio, 0.0)
        return int(video), int(audio)

    def _choose_rung(self, now: float, video: int) -> int:
        ladder = self._cfg.ladder
        index = self._rung_index
        while index < len(ladder) - 1 and video < ladder[index].min_bitrate:
            index += 1
        if index > self._rung_index:
            self._step_up_since = None
            return index
        if index > self._max_rung and video >= ladder[index - 1].min_bitrate * _STEP_UP_MARGIN:
            if self._step_up_since is None:
                self._step_up_since = now
            if now - self._step_up_since >= self._cfg.step_up_hold_s:
                self._step_up_since = None
                return index - 1
        else:
            self._step_up_since = None
        return index

    def _decide(self, now: float, *, loss: float, acked: float) -> RateDecision:
        total = min(self._delay_bps, self._loss_bps)
        video, audio = self._split(total)
        if self._last_update is not None:
            self._rung_index = self._choose_rung(now, video)
        return RateDecision(
            time_s=now,
            target_bps=int(total),
            video_bps=video,
            audio_bps=audio,
            rung=self._cfg.ladder[self._rung_index],
            usage=self._usage,
            state=self._state,
            delay_bps=int(self._delay_bps),
            loss_bps=int(self._loss_bps),
            loss=loss,
            acked_bps=int(acked),
            queue_delay_s=self.queue_delay_s,
            link_limited=self._link_capacity is not None,
        )
