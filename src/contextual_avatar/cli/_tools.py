"""Commands for a source checkout and model files: ``bench`` and ``convert-whisper``."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Annotated

import typer

from contextual_avatar.cli._app import app, console, friendly, q
from contextual_avatar.errors import ConfigError

__all__ = ["bench", "convert_whisper"]


@app.command("convert-whisper")
@friendly
def convert_whisper(
    src: Annotated[
        Path, typer.Argument(help="A CTranslate2 whisper model folder (model.bin, config.json).")
    ],
    dst: Annotated[
        Path, typer.Argument(help="Where to write the openai-whisper checkpoint (.pt).")
    ],
) -> None:
    """Convert a CTranslate2 (faster-whisper) model into an openai-whisper checkpoint."""
    from contextual_avatar.ingest import convert_ctranslate2_whisper

    out = convert_ctranslate2_whisper(src, dst)
    console.print(f"wrote {q(out)}; use it with CONTEXTUAL_AVATAR_TRANSCRIPTION__MODEL={q(out)}")


@app.command()
@friendly
def bench(
    names: Annotated[
        list[str] | None,
        typer.Argument(help="Benchmarks to run (default: every benchmarks/*.py)."),
    ] = None,
    report_only: Annotated[
        bool,
        typer.Option("--report-only", help="Run nothing; rebuild the report from the results."),
    ] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds each benchmark may run.")
    ] = 3600.0,
    root: Annotated[
        Path, typer.Option("--root", help="The checkout holding benchmarks/ and docs/.")
    ] = Path(),
) -> None:
    """Run the benchmarks and write docs/benchmarks.md (tables, plots, reproduce commands).

    The benchmarks and their report generator (``benchmarks/report.py``) belong to a
    source checkout, not to the installed package, so this runs the checkout's generator.
    """
    folder = root / "benchmarks"
    generator = folder / "report.py"
    if not folder.is_dir():
        raise ConfigError(
            f"no benchmarks/ folder under {root.resolve()}: `contextual-avatar bench` runs "
            "the benchmarks of a source checkout (an installed package has none); run it "
            "from the checkout's root or pass --root"
        )
    if not generator.is_file():
        raise ConfigError(
            f"{generator} not found: --root must be a contextual-avatar source checkout"
        )
    command = [sys.executable, str(generator.resolve()), *(names or ()), "--timeout", str(timeout)]
    if report_only:
        command.append("--report-only")
    command += ["--root", str(root.resolve())]
    code = _run_relayed(command, cwd=root)
    if code:
        raise typer.Exit(code=code)


def _run_relayed(command: list[str], *, cwd: Path) -> int:
    """Run ``command``, copying its stdout and stderr line by line to ours as they come.

    Why: a benchmark run takes tens of minutes, so its progress must show while it runs,
    and going through ``sys.stdout``/``sys.stderr`` (not the raw descriptors) keeps the
    output capturable by whoever called the command in-process.
    """
    with subprocess.Popen(  # noqa: S603 - our interpreter on the checkout's generator
        command,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        bufsize=1,
    ) as proc:
        assert proc.stdout is not None
        assert proc.stderr is not None
        relay = threading.Thread(target=_copy_lines, args=(proc.stderr, sys.stderr), daemon=True)
        relay.start()
        _copy_lines(proc.stdout, sys.stdout)
        relay.join()
        return proc.wait()


def _copy_lines(source: IO[str], sink: IO[str]) -> None:
    for line in source:
        sink.write(line)
        sink.flush()
