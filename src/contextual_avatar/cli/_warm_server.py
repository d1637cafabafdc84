"""The warm process itself: loads the engine once and answers over a Unix socket.

One request per connection, one JSON line each way (see :mod:`._warm`). Requests are
answered one at a time: it serves one person's command line, and one lock keeps a
reload of the index from racing a question.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import signal
import socket
import struct
import time
from pathlib import Path
from typing import Any

from contextual_avatar.cli._warm import (
    MAX_LINE,
    AnswerView,
    WarmInfo,
    encode,
    fingerprint,
    ping,
    socket_path,
    warm_up,
)
from contextual_avatar.config import EngineConfig
from contextual_avatar.engine import AsyncContextEngine
from contextual_avatar.errors import ContextualAvatarError
from contextual_avatar.parts import Parts

__all__ = ["serve"]

log = logging.getLogger(__name__)


def _index_signature(data_dir: Path) -> tuple[tuple[str, int, int], ...]:
    """Every index file (all collections) with mtime and size: changes when one is written."""
    found = []
    for folder in (data_dir / "index", data_dir / "collections"):
        for path in folder.rglob("*") if folder.is_dir() else ():
            with contextlib.suppress(FileNotFoundError):  # a version being swapped out
                if path.is_file():
                    info = path.stat()
                    found.append((str(path.relative_to(data_dir)), info.st_mtime_ns, info.st_size))
    return tuple(sorted(found))


def _same_user(writer: asyncio.StreamWriter) -> bool:
    """On Linux, whether the peer runs as our uid (the socket's mode is the first guard)."""
    sock: socket.socket | None = writer.get_extra_info("socket")
    option = getattr(socket, "SO_PEERCRED", None)
    if sock is None or option is None:
        return True
    _pid, uid, _gid = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, option, 12))
    return bool(uid == os.getuid())


class _Warm:
    """The loaded engine, its lifetime bookkeeping and the request handler."""

    def __init__(self, config: EngineConfig, idle_s: float) -> None:
        self.config = config
        self.idle_s = idle_s
        self.print = fingerprint(config)
        self.started = time.monotonic()
        self.last = self.started
        self.lock = asyncio.Lock()
        self.done = asyncio.Event()
        self.engine = AsyncContextEngine(config)
        self.signature = _index_signature(self.config.data_dir)
        self.load_ms = 0.0

    async def load(self) -> None:
        """Load the embedding model now, not on the first question."""
        begin = time.perf_counter()
        await asyncio.to_thread(warm_up, self.engine.parts.embedder)
        self.load_ms = (time.perf_counter() - begin) * 1000
        self.last = time.monotonic()  # idle counts from when it can answer

    def info(self) -> WarmInfo:
        return WarmInfo(
            pid=os.getpid(),
            data_dir=str(self.config.data_dir),
            load_ms=self.load_ms,
            up_s=time.monotonic() - self.started,
            idle_s=self.idle_s,
            fingerprint=self.print,
        )

    async def _fresh(self) -> AsyncContextEngine:
        """The engine over the index as it is on disk now, reopened if another process wrote it."""
        now = _index_signature(self.config.data_dir)
        if now != self.signature:
            log.info("the index changed on disk: reopening the engine with the loaded model")
            embedder = self.engine.parts.embedder
            await self.engine.aclose()
            self.engine = AsyncContextEngine(self.config, parts=Parts(embedder=embedder))
            self.signature = now
        return self.engine

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if not _same_user(writer):
                writer.write(encode({"ok": False, "error": "not the warm process's owner"}))
                return
            line = await reader.readline()
            request = json.loads(line)
            async with self.lock:
                reply = await self._reply(request)
                if request.get("op") == "ask":  # a ping or a status look keeps nothing alive
                    self.last = time.monotonic()
            writer.write(encode(reply))
            await writer.drain()
        except (ValueError, ConnectionError, asyncio.LimitOverrunError) as exc:
            log.warning("bad request: %s", exc)
        finally:
            writer.close()

    async def _reply(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        if op == "ping":
            return {"ok": True, "info": self.info()}
        if op == "stop":
            self.done.set()
            return {"ok": True, "info": self.info()}
        if op != "ask":
            return {"ok": False, "error": f"unknown request {op!r}"}
        if request.get("fingerprint") != self.print:
            return {
                "ok": False,
                "code": "settings",
                "error": "the warm process runs with other CONTEXTUAL_AVATAR_* settings",
            }
        try:
            engine = await self._fresh()
            collection = str(request.get("collection", "default"))
            if not await engine.list_documents(collection):
                return {"ok": False, "code": "empty", "error": "the index is empty"}
            answer = await engine.ask(
                str(request["session"]), str(request["question"]), collection=collection
            )
        except ContextualAvatarError as exc:
            return {"ok": False, "error": str(exc)}
        except Exception as exc:
            log.exception("ask failed")
            return {"ok": False, "error": f"the warm process failed: {type(exc).__name__}: {exc}"}
        return {"ok": True, "answer": AnswerView.of(answer), "info": self.info()}

    async def watch_idle(self) -> None:
        while not self.done.is_set():
            left = self.idle_s - (time.monotonic() - self.last)
            if left <= 0 and not self.lock.locked():
                log.info("idle for %.0f s: stopping", self.idle_s)
                self.done.set()
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.done.wait(), timeout=max(min(left, 5.0), 0.5))


async def _run(config: EngineConfig, idle_s: float, path: Path) -> None:
    warm = _Warm(config, idle_s)
    try:
        await warm.load()
        old = os.umask(0o177)  # the socket is born 0600: no window for other users
        try:
            server = await asyncio.start_unix_server(warm.handle, path=str(path), limit=MAX_LINE)
        finally:
            os.umask(old)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, warm.done.set)
        log.info("warm process %d serving %s at %s", os.getpid(), config.data_dir, path)
        async with server:
            await warm.watch_idle()
    finally:
        await warm.engine.aclose()


def serve(config: EngineConfig, *, idle_s: float) -> bool:
    """Run the warm process for ``config.data_dir`` until idle, stopped or signalled.

    Returns:
        False when another warm process already serves that folder (nothing started).
    """
    folder = config.data_dir.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    path = socket_path(folder)
    with open(f"{path}.lock", "a+b") as lock:  # held for the process's life
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        if ping(folder) is not None:
            return False
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # stale: we hold the lock, so its process is gone
        try:
            asyncio.run(_run(config.model_copy(update={"data_dir": folder}), idle_s, path))
        finally:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    return True
