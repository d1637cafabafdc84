"""The commands that load the engine: ``ingest``, ``ask``, ``chat`` and ``warm``.

``ask`` goes to the data folder's warm process when one runs (see :mod:`._warm`), else
loads the engine itself; with ``-v`` it says which, and prints the model load apart from
the turn's own stages.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)

from contextual_avatar._blocking import ContextEngine
from contextual_avatar.cli import _warm
from contextual_avatar.cli._app import (
    Collection,
    DataDir,
    app,
    config_for,
    console,
    err,
    friendly,
    q,
)
from contextual_avatar.cli._warm import AnswerView, WarmInfo
from contextual_avatar.errors import ConfigError, ContextualAvatarError
from contextual_avatar.retrieval import DEFAULT_COLLECTION

__all__ = ["ask", "chat", "ingest", "warm"]

Verbose = Annotated[
    bool, typer.Option("--verbose", "-v", help="Show load time, cache, route, timings.")
]


def print_answer(view: AnswerView, *, verbose: bool) -> None:
    """The answer, one ``source:`` line per citation, and with ``verbose`` the turn's figures."""
    console.print(q(view.text))
    for ref in view.citations:
        console.print(f"  [dim]source:[/dim] {q(ref)}")
    if verbose:
        timing = ", ".join(f"{k} {v:.1f} ms" for k, v in view.timings.items())
        console.print(
            f"  [dim]cache {'hit' if view.cache_hit else 'miss'} ({q(view.cache_reason)}); "
            f"{q(view.tier)} tier ({q(view.model)}); "
            f"{view.prompt_tokens}+{view.completion_tokens} tokens, "
            f"${view.cost_usd:.6f}; turn: {timing}[/dim]"
        )


def _empty(folder: Path) -> typer.Exit:
    err.print(
        f"[yellow]the index in {q(folder)} is empty: run "
        "`contextual-avatar ingest FILE` first[/yellow]"
    )
    return typer.Exit(code=1)


@app.command()
@friendly
def ingest(
    files: Annotated[
        list[Path], typer.Argument(help="PDF, text, Markdown, SRT/VTT/STM, audio or video files.")
    ],
    collection: Collection = DEFAULT_COLLECTION,
    data_dir: DataDir = None,
) -> None:
    """Add files to the index (unchanged files are skipped)."""
    failed = 0
    with (
        ContextEngine(config_for(data_dir)) as engine,
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
                report = engine.ingest(path, collection=collection, progress=progress)
            except ContextualAvatarError as exc:
                failed += 1
                err.print(f"[red]error:[/red] {q(exc)}")
                continue
            finally:
                bar.remove_task(task)
            if report.unchanged:
                console.print(f"{q(path.name)}: unchanged, already indexed")
            else:
                console.print(
                    f"{q(path.name)}: {report.segments} {q(report.kind)} segment(s) -> "
                    f"{report.chunks} chunks, {report.tokens} tokens in {report.seconds:.1f} s"
                )
    if failed:
        raise typer.Exit(code=1)


def _ask_warm(
    data_dir: Path | None, session: str, question: str, collection: str
) -> tuple[AnswerView, WarmInfo] | None:
    """The warm process's answer, or ``None`` to answer cold (none runs, or other settings)."""
    cfg = config_for(data_dir)
    try:
        return _warm.ask(cfg, session, question, collection=collection)
    except _warm.EmptyIndexError:
        raise _empty(cfg.data_dir) from None
    except ConfigError as exc:
        err.print(f"[yellow]{q(exc)}: answering cold (`contextual-avatar warm --stop`)[/yellow]")
        return None


@app.command()
@friendly
def ask(
    question: Annotated[str, typer.Argument(help="The question.")],
    session: Annotated[str, typer.Option("--session", "-s", help="Session id.")] = "cli",
    verbose: Verbose = False,
    cold: Annotated[
        bool, typer.Option("--cold", help="Load the engine here even if a warm process runs.")
    ] = False,
    collection: Collection = DEFAULT_COLLECTION,
    data_dir: DataDir = None,
) -> None:
    """Answer one question from the indexed documents, with citations.

    If `contextual-avatar warm` runs for the data folder, it answers (no model load).
    """
    cfg = config_for(data_dir)
    warm = None if cold else _ask_warm(data_dir, session, question, collection)
    if warm is not None:
        view, info = warm
        print_answer(view, verbose=verbose)
        if verbose:
            console.print(
                f"  [dim]load: none here; warm process {info.pid} (model loaded in "
                f"{info.load_ms:.0f} ms, {info.up_s:.0f} s ago)[/dim]"
            )
        return
    begin = time.perf_counter()
    with ContextEngine(cfg) as engine:
        opened = time.perf_counter()
        if not engine.list_documents(collection):
            raise _empty(engine.config.data_dir)
        _warm.warm_up(engine.parts.embedder)  # the model load, timed apart from the turn
        loaded = time.perf_counter()
        view = AnswerView.of(engine.ask(session, question, collection=collection))
    print_answer(view, verbose=verbose)
    if verbose:
        console.print(
            f"  [dim]load: engine {(opened - begin) * 1000:.0f} ms, models and warm-up "
            f"{(loaded - opened) * 1000:.0f} ms (`contextual-avatar warm` keeps them "
            "loaded)[/dim]"
        )


@app.command()
@friendly
def chat(
    session: Annotated[str, typer.Option("--session", "-s", help="Session id.")] = "chat",
    verbose: Verbose = False,
    collection: Collection = DEFAULT_COLLECTION,
    data_dir: DataDir = None,
) -> None:
    """Talk to the indexed documents; follow-up questions keep their context. Ctrl-D quits."""
    with ContextEngine(config_for(data_dir)) as engine:
        held = len(engine.list_documents(collection))
        console.print(f"[dim]{held} document(s) in {q(collection)}; Ctrl-D to quit[/dim]")
        while True:
            try:
                question = console.input("[bold]you>[/bold] ").strip()
            except (EOFError, KeyboardInterrupt):
                console.print()
                return
            if not question:
                continue
            try:
                answer = engine.ask(session, question, collection=collection)
                print_answer(AnswerView.of(answer), verbose=verbose)
            except ContextualAvatarError as exc:
                err.print(f"[red]error:[/red] {q(exc)}")


@app.command()
@friendly
def warm(
    idle: Annotated[
        float, typer.Option("--idle", help="Seconds without a question before it exits.")
    ] = _warm.DEFAULT_IDLE_S,
    stop: Annotated[bool, typer.Option("--stop", help="Stop the running warm process.")] = False,
    foreground: Annotated[
        bool, typer.Option("--foreground", help="Run it in this terminal (Ctrl-C stops it).")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Keep the models loaded in a background process, so `ask` answers without loading them.

    One per data folder, for you only; it exits after --idle seconds without a question
    (15 min by default) or on `warm --stop`.
    """
    cfg = config_for(data_dir)
    folder = cfg.data_dir.resolve()
    if stop:
        info = _warm.stop(folder)
        console.print(
            f"stopped warm process {info.pid}" if info else f"no warm process for {q(folder)}"
        )
        return
    if foreground:
        from contextual_avatar.cli._warm_server import serve

        if not serve(cfg, idle_s=idle):
            err.print(f"a warm process already serves {q(folder)}")
        return
    info = _warm.ping(folder)
    if info is None:
        with err.status("loading the engine and the embedding model..."):
            info = _warm.start(cfg, idle_s=idle)
        what = "started"
    else:
        what = "already running:"
    console.print(
        f"warm process {what} pid {info.pid} for {q(folder)}; model loaded in "
        f"{info.load_ms:.0f} ms; exits after {info.idle_s:.0f} s without a question "
        f"or on `contextual-avatar warm --stop`; log: {q(_warm.log_path(folder))}"
    )
