"""The ``contextual-avatar`` command: ingest files, ask questions, chat.

Settings come from ``CONTEXTUAL_AVATAR_*`` environment variables (see
:meth:`EngineConfig.from_env`); ``--data-dir`` overrides where the index lives.
"""

from __future__ import annotations

import functools
import logging
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Annotated, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)

from contextual_avatar.config import EngineConfig
from contextual_avatar.engine import ContextEngine
from contextual_avatar.errors import ConfigError, ContextualAvatarError
from contextual_avatar.types import Answer

__all__ = ["app", "main"]

app = typer.Typer(
    name="contextual-avatar",
    help="Give an interactive avatar cited answers from your documents, cache first.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

P = ParamSpec("P")
R = TypeVar("R")


def _friendly(command: Callable[P, R]) -> Callable[P, R]:
    """Turn library errors into one clear line on stderr and exit code 1."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except ContextualAvatarError as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(code=1) from None

    return run


DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Where the index lives (default: per-user data dir)."),
]


def _engine(data_dir: Path | None) -> ContextEngine:
    overrides = {"data_dir": data_dir} if data_dir is not None else {}
    return ContextEngine(EngineConfig.from_env(**overrides))


def _print_answer(answer: Answer, *, verbose: bool) -> None:
    console.print(answer.text)
    for ref in answer.citations:
        console.print(f"  [dim]source:[/dim] {ref}")
    if verbose:
        timing = ", ".join(f"{k} {v:.1f} ms" for k, v in answer.timings.items())
        console.print(
            f"  [dim]cache {'hit' if answer.cache_hit else 'miss'} ({answer.cache.reason}); "
            f"{answer.route.tier.value} tier ({answer.route.model}); "
            f"{answer.tokens.prompt}+{answer.tokens.completion} tokens, "
            f"${answer.cost_usd:.6f}; {timing}[/dim]"
        )


@app.command()
@_friendly
def ingest(
    files: Annotated[
        list[Path], typer.Argument(help="PDF, text, Markdown, SRT/VTT/STM, audio or video files.")
    ],
    data_dir: DataDir = None,
) -> None:
    """Add files to the index (unchanged files are skipped)."""
    failed = 0
    with (
        _engine(data_dir) as engine,
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        ) as bar,
    ):
        for path in files:
            task = bar.add_task(path.name, total=None)

            def progress(
                stage: str, done: float, total: float, task: TaskID = task, name: str = path.name
            ) -> None:
                bar.update(task, description=f"{name}: {stage}", completed=done, total=total)

            try:
                report = engine.ingest(path, progress=progress)
            except ContextualAvatarError as exc:
                failed += 1
                err.print(f"[red]error:[/red] {exc}")
                continue
            finally:
                bar.remove_task(task)
            if report.unchanged:
                console.print(f"{path.name}: unchanged, already indexed")
            else:
                console.print(
                    f"{path.name}: {report.segments} {report.kind} segment(s) -> "
                    f"{report.chunks} chunks, {report.tokens} tokens in {report.seconds:.1f} s"
                )
    if failed:
        raise typer.Exit(code=1)


@app.command()
@_friendly
def ask(
    question: Annotated[str, typer.Argument(help="The question.")],
    session: Annotated[str, typer.Option("--session", "-s", help="Session id.")] = "cli",
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show cache, route, timings.")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Answer one question from the indexed documents, with citations."""
    with _engine(data_dir) as engine:
        if not engine.documents:
            err.print(
                "[yellow]the index is empty: run `contextual-avatar ingest FILE` first[/yellow]"
            )
            raise typer.Exit(code=1)
        _print_answer(engine.ask(session, question), verbose=verbose)


@app.command()
@_friendly
def chat(
    session: Annotated[str, typer.Option("--session", "-s", help="Session id.")] = "chat",
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show cache, route, timings.")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Talk to the indexed documents; follow-up questions keep their context. Ctrl-D quits."""
    with _engine(data_dir) as engine:
        console.print(f"[dim]{len(engine.documents)} document(s) indexed; Ctrl-D to quit[/dim]")
        while True:
            try:
                question = console.input("[bold]you>[/bold] ").strip()
            except (EOFError, KeyboardInterrupt):
                console.print()
                return
            if not question:
                continue
            try:
                _print_answer(engine.ask(session, question), verbose=verbose)
            except ContextualAvatarError as exc:
                err.print(f"[red]error:[/red] {exc}")


@app.command("convert-whisper")
@_friendly
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
    console.print(f"wrote {out}; use it with CONTEXTUAL_AVATAR_TRANSCRIPTION__MODEL={out}")


@app.command()
@_friendly
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


def main() -> None:
    """Entry point of the ``contextual-avatar`` command."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app()
