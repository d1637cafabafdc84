"""The ``contextual-avatar`` command: ingest files, ask questions, chat, inspect the data.

Settings come from ``CONTEXTUAL_AVATAR_*`` environment variables (see
:meth:`EngineConfig.from_env`); ``--data-dir`` overrides where the data lives. Whatever
a user supplied (names, paths, answers, errors) is printed escaped, as Rich would read
``notes [v2].txt`` as markup, drop ``[v2]`` or crash.
"""

from __future__ import annotations

import functools
import logging
import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import IO, Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.filesize import decimal
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from typer.core import TyperGroup

from contextual_avatar.config import ENV_PREFIX, EngineConfig
from contextual_avatar.engine import ContextEngine
from contextual_avatar.errors import ConfigError, ContextualAvatarError, IndexCorruptError
from contextual_avatar.ingest._transcribe_cache import cache_dir
from contextual_avatar.knowledge import Outbox
from contextual_avatar.knowledge._factory import DEFAULT_GRAPH_FILENAME
from contextual_avatar.retrieval import FaissIndex
from contextual_avatar.types import Answer

__all__ = ["app", "main"]

DATA_ENV = ENV_PREFIX + "DATA_DIR"
_HELP = "Give an interactive avatar cited answers from your documents, cache first."


class _Group(TyperGroup):
    """The command group; its help names the data folder as resolved when help is shown."""

    def format_help(self, ctx: Any, formatter: Any) -> None:  # Any: click's or typer's copy
        """Name the folder now: it depends on the environment of the call, not the import."""
        try:
            folder = f"Data folder: {_q(_config(None).data_dir.resolve())} ({_source(None)})."
        except ContextualAvatarError as exc:
            folder = f"Data folder: cannot be resolved: {_q(exc)}."
        hint = f"Change it with {DATA_ENV}=/another/folder or a command's --data-dir."
        self.help = f"{_HELP}\n\n{folder} {hint} `contextual-avatar where` shows what it holds."
        super().format_help(ctx, formatter)


app = typer.Typer(
    name="contextual-avatar",
    cls=_Group,
    help=_HELP,
    rich_markup_mode="rich",  # what _q escapes for, whatever typer's default
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# No emoji codes: a file named ":fire:.txt" must print as such.
console = Console(soft_wrap=True, emoji=False)
err = Console(stderr=True, soft_wrap=True, emoji=False)

P = ParamSpec("P")
R = TypeVar("R")


def _q(value: object) -> str:
    """``value`` as text Rich prints verbatim (never as markup)."""
    return escape(str(value))


def _friendly(command: Callable[P, R]) -> Callable[P, R]:
    """Turn library errors into one clear line on stderr and exit code 1."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except ContextualAvatarError as exc:
            err.print(f"[red]error:[/red] {_q(exc)}")
            raise typer.Exit(code=1) from None

    return run


DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help=f"The data folder (default: {DATA_ENV}, else per-user)."),
]


def _config(data_dir: Path | None) -> EngineConfig:
    return EngineConfig.from_env(**({"data_dir": data_dir} if data_dir is not None else {}))


def _source(data_dir: Path | None) -> str:
    """Which setting chose the data folder, so a user knows what to change."""
    if data_dir is not None:
        return "from --data-dir"
    by_env = any(name.upper() == DATA_ENV for name in os.environ)  # read case-insensitively
    return f"from {DATA_ENV}" if by_env else "the per-user default"


def _print_answer(answer: Answer, *, verbose: bool) -> None:
    console.print(_q(answer.text))
    for ref in answer.citations:
        console.print(f"  [dim]source:[/dim] {_q(ref)}")
    if verbose:
        timing = ", ".join(f"{k} {v:.1f} ms" for k, v in answer.timings.items())
        console.print(
            f"  [dim]cache {'hit' if answer.cache_hit else 'miss'} ({_q(answer.cache.reason)}); "
            f"{answer.route.tier.value} tier ({_q(answer.route.model)}); "
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
        ContextEngine(_config(data_dir)) as engine,
        Progress(
            TextColumn("{task.description}", markup=False),
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
                err.print(f"[red]error:[/red] {_q(exc)}")
                continue
            finally:
                bar.remove_task(task)
            if report.unchanged:
                console.print(f"{_q(path.name)}: unchanged, already indexed")
            else:
                console.print(
                    f"{_q(path.name)}: {report.segments} {_q(report.kind)} segment(s) -> "
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
    with ContextEngine(_config(data_dir)) as engine:
        if not engine.documents:
            err.print(
                f"[yellow]the index in {_q(engine.config.data_dir)} is empty: run "
                "`contextual-avatar ingest FILE` first[/yellow]"
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
    with ContextEngine(_config(data_dir)) as engine:
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
                err.print(f"[red]error:[/red] {_q(exc)}")


@app.command()
@_friendly
def where(data_dir: DataDir = None) -> None:
    """Show the data folder and what it holds; nothing is loaded or created."""
    cfg = _config(data_dir)
    root, kg = cfg.data_dir.resolve(), cfg.knowledge
    state = "" if root.is_dir() else "; not created yet"
    console.print(f"[bold]data folder:[/bold] {_q(root)} ({_source(data_dir)}{state})")
    try:
        docs, embedder = FaissIndex.read_records(root / "index")
        chunks = sum({d.doc_id: d.chunks for d in docs}.values())  # names share chunks
        held = f"{len(docs)} file(s), {chunks} chunk(s), embedder {embedder}" if docs else "empty"
    except IndexCorruptError as exc:
        held = f"unreadable: {exc}"
    _item("index", root / "index", held)
    graph = (kg.path or root / DEFAULT_GRAPH_FILENAME).resolve()
    if kg.backend == "sqlite":
        _item("knowledge graph", graph, decimal(graph.stat().st_size) if graph.is_file() else "")
    else:
        _item("knowledge graph", f"backend {kg.backend}", "off" if kg.backend == "none" else kg.uri)
    outbox = (kg.outbox_dir or root / "outbox").resolve()
    _item("outbox", outbox, _pending(outbox))
    folder = cache_dir(cfg.transcription).resolve() / "transcripts"
    cached = sum(1 for _ in folder.rglob("*.json")) if folder.is_dir() else 0
    chosen = "transcription.cache_dir" if cfg.transcription.cache_dir else "per-user cache"
    _item("transcript cache", folder, f"{cached} transcript(s) ({chosen})")
    console.print(f"[dim]change the data folder with {DATA_ENV} or --data-dir[/dim]")


@app.command()
@_friendly
def documents(data_dir: DataDir = None) -> None:
    """List the indexed documents, one per line: name, kind, chunks, path, when ingested."""
    folder = _config(data_dir).data_dir.resolve()
    docs, _ = FaissIndex.read_records(folder / "index")
    if not docs:
        err.print(f"no documents in {_q(folder)}: run `contextual-avatar ingest FILE` first")
    for doc in docs:
        when = datetime.fromtimestamp(doc.ingested_at).strftime("%Y-%m-%d %H:%M:%S")
        fields = (doc.name, doc.kind, f"{doc.chunks} chunk(s)", doc.path, when)
        console.print("  ".join(map(_q, fields)))


def _item(label: str, place: object, held: str) -> None:
    """One line of ``where``: a place and what is there (or that nothing is yet)."""
    console.print(f"  [bold]{label}:[/bold] {_q(place)}: {_q(held or 'not created yet')}")


def _pending(outbox: Path) -> str:
    """What ``where`` says of the outbox: facts waiting, or why it cannot tell."""
    try:
        waiting = Outbox.waiting(outbox)
    except sqlite3.Error as exc:
        return f"unreadable: {exc}"
    return "" if waiting is None else f"{waiting} fact(s) waiting for the graph"


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
    console.print(f"wrote {_q(out)}; use it with CONTEXTUAL_AVATAR_TRANSCRIPTION__MODEL={_q(out)}")


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
