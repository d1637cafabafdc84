"""A real Redis Cluster on loopback: three primaries, three replicas, for tests.

Six ``redis-server --cluster-enabled yes`` children joined by
``redis-cli --cluster create ... --cluster-replicas 1``. A short node timeout makes a
replica take over within about two seconds of its primary dying, so a test can kill a
primary mid-conversation and watch the failover.
"""

from __future__ import annotations

import contextlib
import random
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Self

from contextual_avatar.testing._process import ChildServer
from contextual_avatar.testing._redis import RedisServer

__all__ = ["RedisClusterServer"]

NODE_TIMEOUT_MS = 1000
CREATE_OPTIONS = ("--cluster-replicas", "1", "--cluster-yes")
# A node also listens on its port + 10000 (the cluster bus), so both must be free and
# the port must stay below 55536.
_PORTS = (20_000, 45_000)
_BUS_OFFSET = 10_000


def cluster_port(taken: set[int]) -> int:
    """A loopback port that, with its cluster-bus twin, was free a moment ago."""
    for _ in range(1000):
        port = random.randint(*_PORTS)  # noqa: S311 - not security
        if port in taken or port + _BUS_OFFSET in taken:
            continue
        if _free(port) and _free(port + _BUS_OFFSET):
            taken.update((port, port + _BUS_OFFSET))
            return port
    raise RuntimeError("no free port pair for a Redis cluster node")


def _free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class RedisClusterServer(ChildServer):
    """Six ``redis-server`` nodes forming a cluster (3 primaries, 1 replica each).

    :meth:`kill_primary_of` SIGKILLs the primary that serves a key;
    :meth:`wait_failover` waits until a replica was promoted and serves it.
    """

    def __init__(self, workdir: Path, *, primaries: int = 3) -> None:
        """Describe the cluster; nothing starts until :meth:`start`."""
        cli = shutil.which("redis-cli")
        if cli is None:
            raise RuntimeError("redis-cli is not installed (apt-get install redis-tools)")
        self.cli = cli
        self.workdir = workdir
        taken: set[int] = set()
        self.nodes = [
            RedisServer(
                workdir / f"node{i}",
                port=cluster_port(taken),
                extra_args=[
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                    "--cluster-node-timeout",
                    str(NODE_TIMEOUT_MS),
                ],
            )
            for i in range(primaries * 2)
        ]

    @property
    def url(self) -> str:
        """A startup node's URL (the cluster client discovers the rest)."""
        return f"redis://127.0.0.1:{self.nodes[0].port}/0"

    @property
    def live_url(self) -> str:
        """A URL of a node that is running now (after a kill, not necessarily :attr:`url`)."""
        node = next(n for n in self.nodes if n.running)
        return f"redis://127.0.0.1:{node.port}/0"

    @property
    def running(self) -> bool:
        """True while any node is alive."""
        return any(node.running for node in self.nodes)

    def start(self) -> Self:
        """Start the nodes, create the cluster, and wait until every slot is served."""
        try:
            for node in self.nodes:
                node.start()
        except BaseException:
            self.stop()
            raise
        addresses = [f"127.0.0.1:{node.port}" for node in self.nodes]
        # The binary is resolved from PATH and every argument is ours.
        done = subprocess.run(  # noqa: S603
            [self.cli, "--cluster", "create", *addresses, *CREATE_OPTIONS],
            capture_output=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            self.stop()
            raise RuntimeError(f"redis-cli --cluster create failed: {done.stdout!r}")
        self.wait_healthy()
        return self

    def _cli(self, port: int, *args: str) -> str:
        done = subprocess.run(  # noqa: S603
            [self.cli, "-p", str(port), *args], capture_output=True, timeout=5, check=False
        )
        return done.stdout.decode("utf-8", "replace")

    def wait_healthy(self, timeout_s: float = 30.0) -> None:
        """Wait until every live node reports ``cluster_state:ok``, replicas in sync.

        A replica that never synced with its primary may not take over from it, so a
        failover test must not start before this.

        Raises:
            TimeoutError: The cluster did not become healthy in time.
        """
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            live = [n for n in self.nodes if n.running]
            if live and all(self._healthy(n.port) for n in live):
                return
            time.sleep(0.1)
        raise TimeoutError("the Redis cluster did not become healthy")

    def _healthy(self, port: int) -> bool:
        if "cluster_state:ok" not in self._cli(port, "cluster", "info"):
            return False
        replication = self._cli(port, "info", "replication")
        return "role:slave" not in replication or "master_link_status:up" in replication

    def node_for_key(self, key: str) -> RedisServer:
        """The node that is primary for ``key``'s slot now."""
        for node in self.nodes:
            if not node.running:
                continue
            slot = self._cli(node.port, "cluster", "keyslot", key).strip()
            for line in self._cli(node.port, "cluster", "nodes").splitlines():
                parts = line.split()
                if len(parts) < 9 or "master" not in parts[2] or "fail" in parts[2]:
                    continue
                port = int(parts[1].split("@")[0].rsplit(":", 1)[1])
                for span in parts[8:]:
                    low, _, high = span.partition("-")
                    with contextlib.suppress(ValueError):
                        if int(low) <= int(slot) <= int(high or low):
                            owner = next(n for n in self.nodes if n.port == port)
                            if owner.running:
                                return owner
            break  # one live node's view is enough
        raise LookupError(f"no live primary serves {key!r}")

    def wait_failover(self, key: str, timeout_s: float = 30.0) -> RedisServer:
        """Wait until a live primary serves ``key`` and the cluster is healthy; returns it.

        Raises:
            TimeoutError: No replica took over in time.
        """
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with contextlib.suppress(LookupError):
                node = self.node_for_key(key)
                self.wait_healthy(max(0.1, deadline - time.monotonic()))
                return node
            time.sleep(0.1)
        raise TimeoutError(f"no replica took over {key!r}")

    def kill_primary_of(self, key: str) -> RedisServer:
        """SIGKILL the primary serving ``key`` (its replica takes over); returns it."""
        node = self.node_for_key(key)
        node.kill()
        return node

    def kill(self) -> None:
        """SIGKILL every node."""
        for node in self.nodes:
            node.kill()

    def stop(self) -> None:
        """Stop every node."""
        for node in self.nodes:
            node.stop()
