"""What a simulated call reports, and how its metrics are computed from the run.

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

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from contextual_avatar.codecs._adaptive import SenderEvent
from contextual_avatar.codecs._controller import RateDecision
from contextual_avatar.codecs.tools._netsim import CapacityTrace, NetworkSimulator

__all__ = ["CallReport", "TimelineSample", "fill_metrics"]

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


def fill_metrics(
    report: CallReport,
    link: NetworkSimulator,
    queue_delays: list[tuple[float, float]],
    trace: CapacityTrace,
    shown: list[float],
    psnrs: list[float],
    received_bits: int,
    duration: float,
) -> None:
    """Score a finished call into ``report`` (see the module docstring for each metric).

    Args:
        report: The report to fill; ``decisions`` must already hold every decision.
        link: The link the call ran over (its ``sent_bits``).
        queue_delays: ``(enqueue time, pacer wait + link queue)`` of every packet sent.
        trace: The link's capacity schedule.
        shown: Times frames were displayed.
        psnrs: On-screen PSNR per source tick (empty when quality was not measured).
        received_bits: Bits that reached the receiver.
        duration: Simulated seconds.
    """
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
    qd = np.array(queue_delays, dtype=np.float64).reshape(-1, 2)
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
