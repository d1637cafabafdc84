"""The warm process: one engine kept loaded per data folder, asked over a Unix socket.

Why: a cold ``contextual-avatar ask`` spends most of its time loading the embedding
model (about 5 s of 8 s on 2 cores). ``contextual-avatar warm`` starts a background
process that loads it once; ``ask`` then sends its question there and prints the reply.

Lifetime and safety: the process serves one data folder and its owner only (socket mode
0600, and on Linux the peer's uid is checked); it stops after ``idle`` seconds without a
request (15 min by default), on ``warm --stop``, or on SIGTERM. It keeps the settings it
started with: a client whose ``CONTEXTUAL_AVATAR_*`` settings differ answers cold instead.
When the index on disk changes (an ``ingest`` by another process), the engine is reopened
with the loaded model before the next question, which starts its sessions afresh.

This module holds the wire format and the client; :mod:`._warm_server` the process.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from contextual_avatar.config import EngineConfig
from contextual_avatar.errors import ConfigError, ContextualAvatarError
from contextual_avatar.ingest import count_tokens
from contextual_avatar.retrieval import Embedder
from contextual_avatar.types import Answer

__all__ = [
    "DEFAULT_IDLE_S",
    "AnswerView",
    "EmptyIndexError",
    "WarmInfo",
    "ask",
    "fingerprint",
    "ping",
    "socket_path",
    "start",
    "stop",
    "warm_up",
]

#: Seconds without a request after which the warm process exits.
DEFAULT_IDLE_S = 900.0
#: Longest request or reply line; a question is at most a few KiB.
MAX_LINE = 1 << 20
_SOCKET = "warm.sock"
_LOG = "warm.log"
# sun_path holds 108 bytes on Linux, 104 on macOS, the terminating NUL included.
_MAX_SOCKET_PATH = 100


class EmptyIndexError(ContextualAvatarError):
    """The warm process's index holds no document yet."""


@dataclass(frozen=True, slots=True)
class AnswerView:
    """What the CLI prints of an :class:`Answer`; the same whether asked warm or cold."""

    text: str
    citations: list[str]
    cache_hit: bool
    cache_reason: str
    tier: str
    model: str | None
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    timings: dict[str, float] = field(default_factory=dict)

    @classmethod
    def of(cls, answer: Answer) -> AnswerView:
        """The printed parts of ``answer``."""
        return cls(
            text=answer.text,
            citations=[str(ref) for ref in answer.citations],
            cache_hit=answer.cache_hit,
            cache_reason=answer.cache.reason,
            tier=answer.route.tier.value,
            model=answer.route.model,
            prompt_tokens=answer.tokens.prompt,
            completion_tokens=answer.tokens.completion,
            cost_usd=answer.cost_usd,
            timings=dict(answer.timings),
        )


@dataclass(frozen=True, slots=True)
class WarmInfo:
    """A running warm process, as it describes itself."""

    pid: int
    data_dir: str
    load_ms: float
    up_s: float
    idle_s: float
    fingerprint: str


def warm_up(embedder: Embedder | None) -> None:
    """Load the model and run it once at the sizes a turn uses, and load the tokenizer.

    Why: a fresh process's first turn pays more than the load (the first batch of each
    size, the token encoding), a second or so on 2 cores; a warm process pays it here.
    """
    assert embedder is not None  # the engine builds one when none is given
    embedder.embed(["warm up"])
    embedder.embed([f"sentence {i} of a warm-up batch " * (1 + i % 6) for i in range(16)])
    count_tokens("warm up the token encoding")


def socket_path(data_dir: Path) -> Path:
    """Where the warm process of ``data_dir`` listens.

    In the data folder when the path fits a socket address; else in a per-user folder
    (mode 0700) under the temporary directory, named by a hash of the data folder.
    """
    if not hasattr(socket, "AF_UNIX"):
        raise ConfigError("the warm process needs Unix sockets, which this platform lacks")
    folder = data_dir.resolve()
    path = folder / _SOCKET
    if len(os.fsencode(path)) <= _MAX_SOCKET_PATH:
        return path
    runtime = Path(tempfile.gettempdir()) / f"contextual-avatar-{os.getuid()}"
    runtime.mkdir(mode=0o700, exist_ok=True)
    info = runtime.stat()
    if info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise ConfigError(f"{runtime} must be a folder only you can use (mode 0700)")
    return runtime / f"{hashlib.sha256(os.fsencode(folder)).hexdigest()[:24]}.sock"


def log_path(data_dir: Path) -> Path:
    """Where the warm process writes its log (startup failures land here)."""
    return data_dir.resolve() / _LOG


def fingerprint(config: EngineConfig) -> str:
    """A digest of the settings: a warm process answers only clients with the same ones."""
    resolved = config.model_copy(update={"data_dir": config.data_dir.resolve()})
    return hashlib.sha256(resolved.model_dump_json().encode()).hexdigest()


def _call(path: Path, request: dict[str, Any], *, timeout: float) -> dict[str, Any] | None:
    """Send one request line and read one reply line; ``None`` when nothing listens."""
    if not path.exists():
        return None
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(str(path))
        except (ConnectionRefusedError, FileNotFoundError):
            return None  # a stale socket: its process died without removing it
        sock.sendall(json.dumps(request).encode() + b"\n")
        with sock.makefile("rb") as reader:
            line = reader.readline(MAX_LINE)
    if not line:
        raise ContextualAvatarError(f"the warm process at {path} closed the connection")
    reply: dict[str, Any] = json.loads(line)
    return reply


def ping(data_dir: Path, *, timeout: float = 2.0) -> WarmInfo | None:
    """The warm process serving ``data_dir``, or ``None`` if none runs."""
    try:
        reply = _call(socket_path(data_dir), {"op": "ping"}, timeout=timeout)
    except (OSError, ValueError):
        return None  # busy past the timeout or not ours: treat as absent
    if reply is None or not reply.get("ok"):
        return None
    return WarmInfo(**reply["info"])


def ask(
    config: EngineConfig,
    session: str,
    question: str,
    *,
    collection: str = "default",
    timeout: float = 600.0,
) -> tuple[AnswerView, WarmInfo] | None:
    """Ask the warm process of ``config.data_dir``; ``None`` if there is none to ask.

    Raises:
        ConfigError: A warm process runs with other settings (its fingerprint differs).
        ContextualAvatarError: The warm process answered with an error (its message).
    """
    request = {
        "op": "ask",
        "session": session,
        "question": question,
        "collection": collection,
        "fingerprint": fingerprint(config),
    }
    try:
        reply = _call(socket_path(config.data_dir), request, timeout=timeout)
    except OSError as exc:
        raise ContextualAvatarError(f"the warm process did not answer: {exc}") from None
    if reply is None:
        return None
    if reply.get("ok"):
        return AnswerView(**reply["answer"]), WarmInfo(**reply["info"])
    if reply.get("code") == "settings":
        raise ConfigError(reply["error"])
    if reply.get("code") == "empty":
        raise EmptyIndexError(reply["error"])
    raise ContextualAvatarError(reply["error"])


def stop(data_dir: Path) -> WarmInfo | None:
    """Stop the warm process of ``data_dir``; what it was, or ``None`` if none ran."""
    info = ping(data_dir)
    if info is None:
        return None
    with contextlib.suppress(OSError):  # it may close the connection while stopping
        _call(socket_path(data_dir), {"op": "stop"}, timeout=5.0)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and ping(data_dir, timeout=0.5) is not None:
        time.sleep(0.1)
    return info


def start(config: EngineConfig, *, idle_s: float, wait_s: float = 180.0) -> WarmInfo:
    """Start a warm process for ``config.data_dir`` in the background and wait until it answers.

    Raises:
        ModelError: The process exited before answering (its log's last lines say why).
    """
    folder = config.data_dir.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "contextual_avatar.cli", "warm", "--foreground"]
    command += ["--idle", str(idle_s), "--data-dir", str(folder)]
    with log_path(folder).open("ab") as log:
        proc = subprocess.Popen(  # noqa: S603 - our interpreter, our module
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,  # outlives the shell that started it
        )
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        info = ping(folder, timeout=1.0)
        if info is not None:
            return info
        if proc.poll() is not None:
            if (info := ping(folder)) is not None:
                return info  # another start won the race; ours stepped aside
            tail = log_path(folder).read_text(errors="replace").splitlines()[-5:]
            raise ContextualAvatarError(
                f"the warm process exited ({proc.returncode}) before answering; "
                f"{log_path(folder)} ends with: " + " | ".join(tail)
            )
        time.sleep(0.2)
    proc.terminate()
    raise ContextualAvatarError(f"the warm process did not answer within {wait_s:.0f} s")


def encode(payload: dict[str, Any]) -> bytes:
    """One reply line."""
    return json.dumps(payload, default=_plain).encode() + b"\n"


def _plain(value: object) -> object:
    if isinstance(value, AnswerView | WarmInfo):
        return asdict(value)
    raise TypeError(f"cannot send {type(value).__name__}")
