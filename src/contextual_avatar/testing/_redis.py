"""A real ``redis-server`` as a child process, for tests, benchmarks and examples.

The binary comes from the system (``apt-get install redis-server``); the server runs on
a loopback port without persistence and can be killed, stalled and restarted.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Self

from contextual_avatar.testing._bolt import free_port
from contextual_avatar.testing._process import ChildServer

__all__ = ["RedisServer"]


def _ping(port: int) -> bool:
    """Whether a Redis server on ``port`` answers PING."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer(ChildServer):
    """``redis-server`` on a fixed loopback port, without persistence.

    :meth:`kill` is a SIGKILL (the server loses everything, as a crashed cache would);
    :meth:`start` brings it back on the same port; :meth:`pause` / :meth:`resume` stop and
    continue the process (alive but not answering: a stall).
    """

    def __init__(
        self, workdir: Path, *, port: int | None = None, extra_args: Sequence[str] = ()
    ) -> None:
        """Describe the server; nothing starts until :meth:`start`.

        Args:
            workdir: Its working directory.
            port: Loopback port (default: a free one).
            extra_args: More ``redis-server`` options (e.g. cluster mode).
        """
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError(
                "redis-server is not installed (apt-get install redis-server, or "
                "scripts/system-deps.sh in a checkout)"
            )
        self.binary = binary
        self.workdir = workdir
        self.port = port or free_port()
        self.extra_args = list(extra_args)
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>/0``."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> Self:
        """Start the server and wait until it answers PING."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        args += ["--save", "", "--appendonly", "no", "--dir", str(self.workdir)]
        args += self.extra_args
        # The binary is resolved from PATH and every argument is ours.
        self._proc = subprocess.Popen(  # noqa: S603
            args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for _ in range(500):
            if _ping(self.port):
                return self
            if self._proc.poll() is not None:
                raise RuntimeError(f"redis-server exited at start (code {self._proc.returncode})")
            with contextlib.suppress(subprocess.TimeoutExpired):  # brief wait on the child
                self._proc.wait(timeout=0.02)
        raise RuntimeError("redis-server did not answer PING")

    def _kill_process(self, proc: subprocess.Popen[bytes]) -> None:
        """Continue a paused server first, so the kill is delivered at once."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGCONT)
        proc.kill()

    def stop(self) -> None:
        """Continue a paused server, then stop it (see :class:`ChildServer`)."""
        self.resume()
        super().stop()

    def pause(self) -> None:
        """SIGSTOP: the port stays open but nothing answers."""
        assert self._proc is not None
        os.kill(self._proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT after :meth:`pause`."""
        if self._proc is not None and self._proc.poll() is None:
            os.kill(self._proc.pid, signal.SIGCONT)
