"""Notice a newly published index version cheaply: stat its ``CURRENT`` pointer.

A publish replaces ``CURRENT`` with ``os.replace`` (a new inode, a new mtime), so a
``stat`` tells a new version from the loaded one without reading anything. The stat is
rate-limited to one per ``interval_s``, so even thousands of turns a second cost one
system call per interval.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

__all__ = ["DEFAULT_REFRESH_S", "Stamp", "VersionWatch", "stamp"]

#: Seconds between checks for a version published by another process.
DEFAULT_REFRESH_S = 0.2

#: ``(inode, mtime_ns, size)`` of the pointer file, or ``None`` when there is none.
Stamp = tuple[int, int, int] | None


def stamp(pointer: Path) -> Stamp:
    """The identity of the pointer file as it is now."""
    try:
        st = os.stat(pointer)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


class VersionWatch:
    """Says when the pointer no longer matches the version loaded, at most every interval."""

    def __init__(
        self,
        pointer: Path,
        *,
        interval_s: float = DEFAULT_REFRESH_S,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        """Watch ``pointer``.

        Args:
            pointer: The ``CURRENT`` file of an index folder.
            interval_s: Minimum seconds between two stats (0: every call).
            timer: Clock (injected in tests).
        """
        self.pointer = pointer
        self.interval_s = interval_s
        self._timer = timer
        self._checked = -float("inf")
        self.seen: Stamp = None

    def changed(self) -> bool:
        """Whether another version was published since :attr:`seen` (rate-limited)."""
        now = self._timer()
        if now - self._checked < self.interval_s:
            return False
        self._checked = now
        return stamp(self.pointer) != self.seen
