"""Transport feedback: what the receiver reports about each packet.

The bitrate controller's only input from the network. Real transports (RTCP transport-wide
feedback) and the simulated link (:mod:`contextual_avatar.codecs.tools`) both produce it,
so it lives apart from either.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PacketReport"]


@dataclass(frozen=True, slots=True)
class PacketReport:
    """What transport feedback says about one packet.

    Parameters:
        seq: Sequence number the sender (or the simulator) assigned at send.
        send_time: When the sender sent it (s).
        arrival_time: When it reached the receiver (s), or None if lost.
        size: Size in bytes.
    """

    seq: int
    send_time: float
    arrival_time: float | None
    size: int

    @property
    def lost(self) -> bool:
        """True if the packet never arrived."""
        return self.arrival_time is None
