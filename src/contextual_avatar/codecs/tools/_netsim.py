"""A discrete-event network simulator: one bottleneck link driven by a capacity trace.

Packets enter a FIFO drop-tail queue in front of a link whose rate follows a
:class:`CapacityTrace` (piecewise constant, read from a small CSV file); each packet
takes ``size / capacity`` to serialise, then ``base_delay_s`` to propagate. Packets
whose queueing delay would exceed ``queue_limit_s`` are dropped (congestion loss); the
trace's loss column drops packets at random (radio loss). The receiver reports every
``feedback_interval_s``, like transport-wide congestion control feedback, and the
report reaches the sender one ``base_delay_s`` later. Time is virtual (seconds as
floats): nothing sleeps, so a 60 s call simulates in a blink and the same seed gives
the same run. The feedback is :class:`~contextual_avatar.codecs.PacketReport` s, what the
bitrate controller reads from a real transport too.

Trace files are text, one point per line, ``#`` comments::

    # time_s, capacity_kbps, loss_pct
    0, 2000, 0
    10, 500, 0
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from contextual_avatar.codecs._feedback import PacketReport
from contextual_avatar.errors import CodecError

__all__ = ["CapacityTrace", "NetworkSimulator", "TracePoint"]


@dataclass(frozen=True, slots=True)
class TracePoint:
    """From ``time_s`` on, the link runs at ``capacity_bps`` and drops ``loss`` of packets.

    Parameters:
        time_s: Start of this segment in seconds.
        capacity_bps: Link rate in bits/s.
        loss: Random loss probability in [0, 1).
    """

    time_s: float
    capacity_bps: float
    loss: float = 0.0


class CapacityTrace:
    """A piecewise-constant capacity and loss schedule; the last point holds forever."""

    def __init__(self, points: Sequence[TracePoint]) -> None:
        """Create a trace.

        Args:
            points: Segments in time order, the first at time 0.

        Raises:
            CodecError: Empty, unordered, not starting at 0, or out-of-range values.
        """
        if not points:
            raise CodecError("a capacity trace needs at least one point")
        if points[0].time_s != 0.0:
            raise CodecError(f"a capacity trace starts at time 0, got {points[0].time_s}")
        for before, after in itertools.pairwise(points):
            if after.time_s <= before.time_s:
                raise CodecError(f"trace times must increase: {before.time_s} then {after.time_s}")
        for point in points:
            if not point.capacity_bps > 0 or not math.isfinite(point.capacity_bps):
                raise CodecError(f"capacity must be positive, got {point.capacity_bps}")
            if not 0.0 <= point.loss < 1.0:
                raise CodecError(f"loss must be in [0, 1), got {point.loss}")
        self._points = tuple(points)
        self._times = [p.time_s for p in points]

    @classmethod
    def constant(cls, capacity_bps: float, *, loss: float = 0.0) -> CapacityTrace:
        """A link of fixed rate.

        Args:
            capacity_bps: Link rate in bits/s.
            loss: Random loss probability.

        Returns:
            The trace.
        """
        return cls([TracePoint(0.0, capacity_bps, loss)])

    @classmethod
    def load(cls, path: str | Path) -> CapacityTrace:
        """Read a trace file (``time_s, capacity_kbps, loss_pct`` per line).

        Args:
            path: The file.

        Returns:
            The trace.

        Raises:
            CodecError: The file is missing or malformed (the message names the line).
        """
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise CodecError(f"cannot read trace {path}: {exc}") from exc
        points: list[TracePoint] = []
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            fields = [f.strip() for f in line.split(",")]
            try:
                if len(fields) not in (2, 3):
                    raise ValueError("expected time_s, capacity_kbps[, loss_pct]")
                loss = float(fields[2]) / 100.0 if len(fields) == 3 else 0.0
                points.append(TracePoint(float(fields[0]), float(fields[1]) * 1000.0, loss))
            except ValueError as exc:
                raise CodecError(f"{path}:{number}: {exc}") from exc
        return cls(points)

    def save(self, path: str | Path) -> None:
        """Write the trace in the format :meth:`load` reads.

        Args:
            path: Destination file.
        """
        lines = ["# time_s, capacity_kbps, loss_pct"]
        lines += [
            f"{p.time_s:g}, {p.capacity_bps / 1000.0:g}, {p.loss * 100.0:g}" for p in self._points
        ]
        Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")

    @property
    def points(self) -> tuple[TracePoint, ...]:
        """The segments."""
        return self._points

    def _index(self, t: float) -> int:
        return max(0, bisect.bisect_right(self._times, t) - 1)

    def capacity_at(self, t: float) -> float:
        """Link rate in bits/s at time ``t``."""
        return self._points[self._index(t)].capacity_bps

    def loss_at(self, t: float) -> float:
        """Random loss probability at time ``t``."""
        return self._points[self._index(t)].loss

    def next_change(self, t: float) -> float:
        """Time of the first segment boundary after ``t`` (``inf`` if none)."""
        i = bisect.bisect_right(self._times, t)
        return self._times[i] if i < len(self._times) else math.inf

    def bits_between(self, start: float, end: float) -> float:
        """Capacity integrated over ``[start, end)``, in bits."""
        total, t = 0.0, start
        while t < end:
            nxt = min(self.next_change(t), end)
            total += self.capacity_at(t) * (nxt - t)
            t = nxt
        return total


class NetworkSimulator:
    """One bottleneck link with a drop-tail queue, propagation delay and random loss."""

    def __init__(
        self,
        trace: CapacityTrace,
        *,
        base_delay_s: float = 0.04,
        queue_limit_s: float = 1.0,
        feedback_interval_s: float = 0.05,
        rng: random.Random | None = None,
    ) -> None:
        """Create the link.

        Args:
            trace: Capacity and loss over time.
            base_delay_s: One-way propagation delay (feedback takes the same back).
            queue_limit_s: Drop a packet whose queueing delay would exceed this.
            feedback_interval_s: How often the receiver reports.
            rng: Randomness for the loss draws (seeded for reproducible runs).

        Raises:
            CodecError: A negative or zero interval.
        """
        if base_delay_s < 0 or queue_limit_s <= 0 or feedback_interval_s <= 0:
            raise CodecError("delays and intervals must be positive")
        self._trace = trace
        self._base = base_delay_s
        self._queue_limit = queue_limit_s
        self._interval = feedback_interval_s
        self._rng = rng if rng is not None else random.Random(0)  # noqa: S311 (simulation)
        self._link_free_at = 0.0
        self._seq = 0
        self._feedback: list[tuple[float, int, PacketReport]] = []
        self._arrivals: list[tuple[float, int, PacketReport]] = []
        self.queue_delays: list[tuple[float, float]] = []
        """(send time, queueing delay) of every packet that entered the queue."""
        self.sent_bits: list[tuple[float, int]] = []
        """(send time, bits) of every packet offered to the link."""
        self.last_queue_delay: float | None = None
        """Queueing delay of the last packet sent, None if the queue dropped it."""

    @property
    def trace(self) -> CapacityTrace:
        """The capacity trace."""
        return self._trace

    @property
    def base_delay_s(self) -> float:
        """One-way propagation delay."""
        return self._base

    def _finish_time(self, start: float, bits: float) -> float:
        t, remaining = start, bits
        while True:
            rate = self._trace.capacity_at(t)
            boundary = self._trace.next_change(t)
            needed = remaining / rate
            if t + needed <= boundary:
                return t + needed
            remaining -= rate * (boundary - t)
            t = boundary

    def send(self, size: int, now: float) -> int:
        """Offer a packet to the link.

        Args:
            size: Bytes on the wire.
            now: Send time (s); calls must come in time order (the queue is FIFO by
                call order).

        Returns:
            The packet's sequence number.
        """
        if size <= 0:
            raise CodecError(f"packet size must be positive, got {size}")
        seq = self._seq
        self._seq += 1
        self.sent_bits.append((now, size * 8))
        start = max(now, self._link_free_at)
        queued = start - now
        arrival: float | None
        self.last_queue_delay = None
        if queued > self._queue_limit:
            arrival = None
            nominal = now + self._base
        else:
            finish = self._finish_time(start, size * 8.0)
            self._link_free_at = finish
            self.queue_delays.append((now, queued))
            self.last_queue_delay = queued
            nominal = finish + self._base
            lost = self._rng.random() < self._trace.loss_at(now)
            arrival = None if lost else nominal
        report = PacketReport(seq, now, arrival, size)
        reported = math.ceil(nominal / self._interval) * self._interval
        heapq.heappush(self._feedback, (reported + self._base, seq, report))
        if arrival is not None:
            heapq.heappush(self._arrivals, (arrival, seq, report))
        return seq

    def feedback(self, now: float) -> list[PacketReport]:
        """Reports that have reached the sender by ``now``, in sequence order.

        Args:
            now: Current time (s).

        Returns:
            New reports since the last call.
        """
        out: list[PacketReport] = []
        while self._feedback and self._feedback[0][0] <= now:
            out.append(heapq.heappop(self._feedback)[2])
        out.sort(key=lambda r: r.seq)
        return out

    def arrivals(self, now: float) -> list[PacketReport]:
        """Packets that reached the receiver by ``now``, in arrival order.

        Args:
            now: Current time (s).

        Returns:
            New arrivals since the last call.
        """
        out: list[PacketReport] = []
        while self._arrivals and self._arrivals[0][0] <= now:
            out.append(heapq.heappop(self._arrivals)[2])
        return out

    def queue_delay_at(self, now: float) -> float:
        """Queueing delay a packet sent at ``now`` would see, in seconds."""
        return max(0.0, self._link_free_at - now)
