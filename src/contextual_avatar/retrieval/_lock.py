"""A cross-process write lock on an index folder: ``fcntl.flock`` on a lock file.

Two ingest processes on one data folder must take turns: each reloads the latest
published version, changes it and publishes it while holding the lock, so neither
overwrites the other's documents. ``flock`` (not ``lockf``) also serialises threads of
one process, since every acquisition opens its own file description. The kernel drops
the lock when its holder dies, so a writer killed mid-publish never leaves the folder
locked. Readers take no lock (see :class:`~contextual_avatar.retrieval.Corpus`).
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path
from types import TracebackType

from contextual_avatar.errors import StoreUnavailable

__all__ = ["DEFAULT_LOCK_TIMEOUT_S", "FolderLock"]

#: How long a writer waits for another one before giving up.
DEFAULT_LOCK_TIMEOUT_S = 300.0
_POLL_S = 0.01


class FolderLock:
    """An exclusive lock held through ``with``; blocks up to ``timeout_s``.

    Example::

        with FolderLock(data_dir / "index.lock"):
            ...  # reload the latest version, change it, publish it
    """

    def __init__(self, path: Path, *, timeout_s: float = DEFAULT_LOCK_TIMEOUT_S) -> None:
        """Lock ``path`` (created if missing; its content is never read).

        Args:
            path: The lock file; keep it outside anything that gets deleted, or a
                waiter could end up holding a lock on a file nobody else opens.
            timeout_s: Seconds to wait for the holder before raising.
        """
        self.path = path
        self.timeout_s = timeout_s
        self._fd: int | None = None

    def __enter__(self) -> FolderLock:
        """Take the lock.

        Raises:
            StoreUnavailable: Another writer held it for longer than ``timeout_s``, or
                the lock file cannot be created.
        """
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise StoreUnavailable(f"cannot open the index lock {self.path}: {exc}") from exc
        deadline = time.monotonic() + self.timeout_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise StoreUnavailable(
                        f"another writer has held {self.path} for more than "
                        f"{self.timeout_s:.0f} s; is an ingest stuck?"
                    ) from None
                time.sleep(_POLL_S)
        self._fd = fd
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Release the lock."""
        fd, self._fd = self._fd, None
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
