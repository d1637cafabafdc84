"""The commands on the data folder that load no model: ``where``, ``documents``, ``remove``."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.filesize import decimal

from contextual_avatar._blocking import ContextEngine
from contextual_avatar.cli._app import (
    DATA_ENV,
    Collection,
    DataDir,
    app,
    config_for,
    console,
    err,
    friendly,
    q,
    source_of,
)
from contextual_avatar.errors import IndexCorruptError, InputError
from contextual_avatar.ingest._transcribe_cache import cache_dir
from contextual_avatar.knowledge import Outbox
from contextual_avatar.knowledge._factory import DEFAULT_GRAPH_FILENAME
from contextual_avatar.retrieval import (
    DEFAULT_COLLECTION,
    DocRecord,
    FaissIndex,
    check_collection_name,
    collection_dir,
    list_collections,
)

__all__ = ["documents", "remove", "where"]


@app.command()
@friendly
def where(data_dir: DataDir = None) -> None:
    """Show the data folder and what it holds; nothing is loaded or created."""
    cfg = config_for(data_dir)
    root, kg = cfg.data_dir.resolve(), cfg.knowledge
    state = "" if root.is_dir() else "; not created yet"
    console.print(f"[bold]data folder:[/bold] {q(root)} ({source_of(data_dir)}{state})")
    try:
        docs, embedder = FaissIndex.read_records(root / "index")
        chunks = sum({d.doc_id: d.chunks for d in docs}.values())  # names share chunks
        held = f"{len(docs)} file(s), {chunks} chunk(s), embedder {embedder}" if docs else "empty"
    except IndexCorruptError as exc:
        held = f"unreadable: {exc}"
    _item("index", root / "index", held)
    others = list_collections(root)[1:]
    if others:
        _item("collections", root / "collections", ", ".join(others))
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
@friendly
def documents(
    collection: Annotated[
        str | None,
        typer.Option("--collection", "-c", help="List this collection only (default: all)."),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """List the indexed documents per collection: name, kind, chunks, path, when ingested."""
    folder = config_for(data_dir).data_dir.resolve()
    if collection is None:
        names = list_collections(folder)
    elif check_collection_name(collection) in list_collections(folder):
        names = [collection]
    else:
        raise InputError(f"no collection {collection!r} in {folder}")
    listed = {name: FaissIndex.read_records(collection_dir(folder, name))[0] for name in names}
    if not any(listed.values()):
        err.print(f"no documents in {q(folder)}: run `contextual-avatar ingest FILE` first")
        return
    for name, docs in listed.items():
        console.print(f"[bold]collection {q(name)}[/bold]: {len(docs)} document(s)")
        for doc in docs:
            console.print("  " + "  ".join(map(q, _fields(doc))))


@app.command()
@friendly
def remove(
    names: Annotated[
        list[str],
        typer.Argument(help="Paths as ingested, file names, or content ids (`documents`)."),
    ],
    collection: Collection = DEFAULT_COLLECTION,
    data_dir: DataDir = None,
) -> None:
    """Remove documents from a collection: from the index, answers, caches and citations."""
    with ContextEngine(config_for(data_dir)) as engine:
        for name in names:
            for doc in engine.remove(name, collection=collection):
                console.print(f"removed {q(doc.name)} ({q(doc.path)}) from {q(collection)}")


def _fields(doc: DocRecord) -> tuple[str, ...]:
    when = datetime.fromtimestamp(doc.ingested_at).strftime("%Y-%m-%d %H:%M:%S")
    return (doc.name, doc.kind, f"{doc.chunks} chunk(s)", doc.path, when)


def _item(label: str, place: object, held: str) -> None:
    """One line of ``where``: a place and what is there (or that nothing is yet)."""
    console.print(f"  [bold]{label}:[/bold] {q(place)}: {q(held or 'not created yet')}")


def _pending(outbox: Path) -> str:
    """What ``where`` says of the outbox: facts waiting, or why it cannot tell."""
    try:
        waiting = Outbox.waiting(outbox)
    except sqlite3.Error as exc:
        return f"unreadable: {exc}"
    return "" if waiting is None else f"{waiting} fact(s) waiting for the graph"
