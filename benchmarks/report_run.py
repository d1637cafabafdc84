"""Finding and running the benchmark scripts of a checkout (part of ``benchmarks/report.py``).

A benchmark is a script ``benchmarks/<name>.py`` that prints a table and writes
``benchmarks/results/<name>.json`` and ``<name>.png``. A module that other benchmarks
import (``from benchmarks.replay import ...``) is a shared harness, not a benchmark, and
the report generator's own modules are neither. Each script runs in a fresh interpreter
from the checkout's root; a failure or a timeout is a result, never an exception.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "GENERATOR_MODULES",
    "BenchError",
    "BenchRun",
    "find_benchmarks",
    "machine_info",
    "now",
    "run_benchmark",
]

#: Seconds one benchmark script may run before it is stopped and reported as failed.
DEFAULT_TIMEOUT_S = 3600.0
#: Lines of a script's printed output kept for the report.
OUTPUT_TAIL_LINES = 60
#: The report generator's modules: in ``benchmarks/`` but not benchmarks.
GENERATOR_MODULES = frozenset({"report", "report_page", "report_run", "report_tables"})
_HARNESS_IMPORT = re.compile(r"^\s*(?:from|import)\s+benchmarks\.(\w+)", re.MULTILINE)


class BenchError(ValueError):
    """The checkout or the request cannot be benchmarked (no folder, unknown name, bad manifest)."""


@dataclass(frozen=True, slots=True)
class BenchRun:
    """How one benchmark script last ran.

    Parameters:
        name: The script's stem (``cache_hit_rate``).
        command: The command that reproduces it, from the checkout's root.
        returncode: The script's exit code; ``None`` when it has never run under ``bench``
            (its results come from a run by hand).
        seconds: Wall time of the run.
        date: When the results were produced (``YYYY-MM-DD HH:MM UTC``, or a day).
        machine: Where they were produced.
        output: The last lines the script printed (stdout, then stderr on failure).
    """

    name: str
    command: str
    returncode: int | None = None
    seconds: float | None = None
    date: str = "unknown"
    machine: str = "unknown"
    output: str = ""

    @property
    def failed(self) -> bool:
        """True when the last run under ``bench`` exited non-zero or timed out."""
        return self.returncode is not None and self.returncode != 0


def find_benchmarks(root: Path) -> tuple[list[Path], list[Path]]:
    """The benchmark scripts under ``root/benchmarks``, and the harness modules skipped.

    Args:
        root: The checkout's root.

    Returns:
        ``(benchmarks, harnesses)``, each sorted by name; private modules (``_*.py``) and
        the report generator's own (:data:`GENERATOR_MODULES`) are in neither.

    Raises:
        BenchError: ``root`` has no ``benchmarks`` folder.
    """
    folder = root / "benchmarks"
    if not folder.is_dir():
        raise BenchError(f"no benchmarks/ folder under {root}: run bench from the checkout")
    scripts = sorted(
        p
        for p in folder.glob("*.py")
        if not p.name.startswith("_") and p.stem not in GENERATOR_MODULES
    )
    imported = {
        name for script in scripts for name in _HARNESS_IMPORT.findall(script.read_text("utf-8"))
    }
    benchmarks = [p for p in scripts if p.stem not in imported]
    harnesses = [p for p in scripts if p.stem in imported]
    return benchmarks, harnesses


def machine_info() -> str:
    """A one-line description of this machine: CPU, cores, memory, OS, Python."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
        memory = f", {mem:.0f} GiB RAM"
    except (AttributeError, OSError, ValueError):
        memory = ""
    return (
        f"{cpu}, {os.cpu_count()} cores{memory}, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def now() -> str:
    """The current time as the report shows it (``YYYY-MM-DD HH:MM UTC``)."""
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())


def _tail(text: str, lines: int = OUTPUT_TAIL_LINES) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _text(raw: str | bytes | None) -> str:
    if raw is None:
        return ""
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw


def run_benchmark(
    script: Path,
    *,
    root: Path,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    python: str = sys.executable,
    machine: str | None = None,
) -> BenchRun:
    """Run one benchmark script in a fresh interpreter from ``root``.

    Args:
        script: ``benchmarks/<name>.py``.
        root: The checkout's root (the working directory of the run).
        timeout_s: Seconds before the script is stopped and the run counts as failed.
        python: The interpreter to run it with.
        machine: Description of this machine (default: :func:`machine_info`).

    Returns:
        How it ran; a failure is a run with a non-zero ``returncode``, never an exception.
    """
    rel = script.resolve().relative_to(root.resolve())
    command = f".venv/bin/python {rel.as_posix()}"
    date = now()
    started = time.perf_counter()
    try:
        done = subprocess.run(  # our own interpreter on a script of the checkout
            [python, str(rel)],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        code, out, err = done.returncode, done.stdout, done.stderr
    except subprocess.TimeoutExpired as exc:
        code = -1
        out = _text(exc.stdout)
        err = _text(exc.stderr) + f"\nstopped after the {timeout_s:.0f} s timeout"
    output = _tail(out) if code == 0 else _tail(out + "\n" + err)
    return BenchRun(
        name=script.stem,
        command=command,
        returncode=code,
        seconds=time.perf_counter() - started,
        date=date,
        machine=machine or machine_info(),
        output=output,
    )
