"""The part every test server shares: a child process that is stopped, killed and reaped.

Subclasses start the process (``start`` sets ``self._proc``) and say how it is ready;
this base owns stopping it, so a server is never left running or unreaped.
"""

from __future__ import annotations

import subprocess
from types import TracebackType
from typing import Self

__all__ = ["ChildServer"]


class ChildServer:
    """A server running as a child process; a context manager that starts and stops it."""

    _proc: subprocess.Popen[bytes] | None = None
    #: Seconds :meth:`stop` waits for a clean exit before it kills.
    stop_timeout_s: float = 20.0

    @property
    def running(self) -> bool:
        """True while the child process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> Self:
        """Start the process and wait until it serves (subclasses implement this)."""
        raise NotImplementedError

    def _kill_process(self, proc: subprocess.Popen[bytes]) -> None:
        """Send SIGKILL (override to kill a whole process group)."""
        proc.kill()

    def kill(self) -> None:
        """SIGKILL the server (no shutdown hooks run) and reap it; idempotent."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        self._kill_process(proc)
        proc.wait(timeout=30)

    def stop(self) -> None:
        """SIGTERM the server, killing it if it has not exited in ``stop_timeout_s``."""
        proc = self._proc
        if proc is None or proc.poll() is not None:
            self._proc = None
            return
        proc.terminate()
        try:
            proc.wait(timeout=self.stop_timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
        self._proc = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
