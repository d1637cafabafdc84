"""Delay-gradient congestion detection in the style of WebRTC's GCC.

:class:`TrendlineEstimator` groups packets sent in a burst, measures how the one-way
delay changes from group to group, smooths the accumulated change and fits a line over
the last groups: a positive slope means a queue is building. :class:`OveruseDetector`
compares the scaled slope with a threshold that adapts to the path (so a competing
TCP flow does not starve us) and says ``overuse``, ``underuse`` or ``normal``. Same
constants as libwebrtc's ``trendline_estimator.cc``.
"""

from __future__ import annotations

from collections import deque
from typing import Literal

__all__ = ["BandwidthUsage", "OveruseDetector", "TrendlineEstimator"]

BandwidthUsage = Literal["normal", "overuse", "underuse"]

_BURST_S = 0.005
_SMOOTHING = 0.9
_THRESHOLD_GAIN = 4.0
_MAX_DELTAS = 60
_K_UP = 0.0087
_K_DOWN = 0.039
_OVERUSE_TIME_MS = 10.0


class TrendlineEstimator:
    """Slope of the smoothed one-way delay over the last ``window`` packet groups."""

    def __init__(self, *, window: int = 20) -> None:
        """Create the estimator.

        Args:
            window: Packet groups in the regression.
        """
        self._window = window
        self._group: tuple[float, float, float] | None = None  # first send, last send, last arrival
        self._prev: tuple[float, float] | None = None  # last send, last arrival of previous group
        self._first_arrival: float | None = None
        self._accumulated = 0.0
        self._smoothed = 0.0
        self._samples: deque[tuple[float, float]] = deque(maxlen=window)
        self._deltas = 0
        self._trend = 0.0

    @property
    def trend(self) -> float:
        """Last fitted slope (ms of delay per ms of time)."""
        return self._trend

    @property
    def modified_trend(self) -> float:
        """Slope scaled by the number of deltas and the gain, as the detector sees it."""
        return min(self._deltas, _MAX_DELTAS) * self._trend * _THRESHOLD_GAIN

    def update(self, send_time: float, arrival_time: float) -> float | None:
        """Feed one received packet (in send order).

        Args:
            send_time: When it was sent (s).
            arrival_time: When it arrived (s).

        Returns:
            The inter-group time delta in ms when a group completed, else None.
        """
        if self._group is None:
            self._group = (send_time, send_time, arrival_time)
            return None
        first_send, _, _ = self._group
        if send_time - first_send <= _BURST_S:
            self._group = (first_send, send_time, max(arrival_time, self._group[2]))
            return None
        _, last_send, last_arrival = self._group
        self._group = (send_time, send_time, arrival_time)
        if self._prev is None:
            self._prev = (last_send, last_arrival)
            return None
        send_delta = (last_send - self._prev[0]) * 1000.0
        arrival_delta = (last_arrival - self._prev[1]) * 1000.0
        self._prev = (last_send, last_arrival)
        self._fit(arrival_delta - send_delta, last_arrival)
        return arrival_delta

    def _fit(self, delay_delta_ms: float, arrival: float) -> None:
        if self._first_arrival is None:
            self._first_arrival = arrival
        self._deltas += 1
        self._accumulated += delay_delta_ms
        self._smoothed = _SMOOTHING * self._smoothed + (1 - _SMOOTHING) * self._accumulated
        self._samples.append(((arrival - self._first_arrival) * 1000.0, self._smoothed))
        if len(self._samples) == self._window:
            xs = [x for x, _ in self._samples]
            ys = [y for _, y in self._samples]
            mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
            den = sum((x - mx) ** 2 for x in xs)
            if den > 0:
                self._trend = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den


class OveruseDetector:
    """Adaptive-threshold detector over the trendline's modified trend."""

    def __init__(self, *, initial_threshold_ms: float = 12.5) -> None:
        """Create the detector.

        Args:
            initial_threshold_ms: Starting threshold.
        """
        self._threshold = initial_threshold_ms
        self._time_over = -1.0
        self._overuse_count = 0
        self._prev_trend = 0.0
        self._state: BandwidthUsage = "normal"

    @property
    def threshold(self) -> float:
        """Current threshold."""
        return self._threshold

    @property
    def state(self) -> BandwidthUsage:
        """Last verdict."""
        return self._state

    def detect(self, modified_trend: float, trend: float, ts_delta_ms: float) -> BandwidthUsage:
        """Classify the current trend.

        Args:
            modified_trend: The estimator's scaled trend.
            trend: The raw slope (to require a rising trend before overuse).
            ts_delta_ms: Time since the previous group (ms).

        Returns:
            ``"overuse"``, ``"underuse"`` or ``"normal"``.
        """
        if modified_trend > self._threshold:
            if self._time_over == -1.0:
                self._time_over = ts_delta_ms / 2.0
            else:
                self._time_over += ts_delta_ms
            self._overuse_count += 1
            if (
                self._time_over > _OVERUSE_TIME_MS
                and self._overuse_count > 1
                and trend >= self._prev_trend
            ):
                self._time_over = 0.0
                self._overuse_count = 0
                self._state = "overuse"
        elif modified_trend < -self._threshold:
            self._time_over = -1.0
            self._overuse_count = 0
            self._state = "underuse"
        else:
            self._time_over = -1.0
            self._overuse_count = 0
            self._state = "normal"
        self._prev_trend = trend
        self._adapt(modified_trend, ts_delta_ms)
        return self._state

    def _adapt(self, modified_trend: float, ts_delta_ms: float) -> None:
        magnitude = abs(modified_trend)
        if magnitude > self._threshold + 15.0:
            return  # a spike (e.g. a route change) should not drag the threshold
        k = _K_DOWN if magnitude < self._threshold else _K_UP
        self._threshold += k * (magnitude - self._threshold) * min(ts_delta_ms, 100.0)
        self._threshold = min(max(self._threshold, 6.0), 600.0)
