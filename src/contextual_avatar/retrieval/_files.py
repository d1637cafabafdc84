"""The files of an index version directory: written synced, published by one rename.

A version directory (``v-<time>-<id>``) holds ``vectors.npy`` and ``chunks.jsonl`` (rows
in order), ``meta.json`` and companions (``lexical/``, ``dense.faiss``, deltas). It is
complete and synced before ``CURRENT`` names it (:func:`switch`), so a process killed
mid-write leaves the previous version published; the next switch deletes the leftovers.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from contextual_avatar._serde import chunk_from_dict, chunk_to_dict
from contextual_avatar.errors import IndexCorruptError
from contextual_avatar.types import Chunk

__all__ = ["new_version", "read_meta", "read_rows", "switch", "sync", "sync_dir", "write_rows"]

Vectors = npt.NDArray[np.float32]


def new_version(directory: Path) -> Path:
    """A new, empty version directory under ``directory`` (not published yet)."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"v-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
    target.mkdir()
    return target


def switch(directory: Path, version: str) -> None:
    """Publish ``version`` (one atomic ``CURRENT`` replace), then delete the others."""
    pointer = directory / "CURRENT.tmp"
    with pointer.open("w", encoding="utf-8") as fh:
        fh.write(version)
        sync(fh)
    os.replace(pointer, directory / "CURRENT")
    sync_dir(directory)
    for old in directory.glob("v-*"):
        if old.name != version:
            shutil.rmtree(old, ignore_errors=True)


def write_rows(target: Path, chunks: Sequence[Chunk], vectors: Vectors) -> None:
    """Write the rows (``vectors.npy``, ``chunks.jsonl``), each synced."""
    with (target / "vectors.npy").open("wb") as fh:
        np.save(fh, vectors)
        sync(fh)
    with (target / "chunks.jsonl").open("w", encoding="utf-8") as fh:
        for c in chunks:
            fh.write(json.dumps(chunk_to_dict(c), ensure_ascii=False) + "\n")
        sync(fh)


def read_rows(target: Path, dim: int) -> tuple[list[Chunk], Vectors]:
    """The rows of a version directory.

    Raises:
        IndexCorruptError: They are missing, malformed or do not match.
    """
    try:
        vectors = np.load(target / "vectors.npy", allow_pickle=False)
        with (target / "chunks.jsonl").open(encoding="utf-8") as fh:
            chunks = [chunk_from_dict(json.loads(line)) for line in fh if line.strip()]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexCorruptError(f"cannot load the index at {target}: {exc}") from exc
    if vectors.shape != (len(chunks), dim):
        raise IndexCorruptError(
            f"cannot load the index at {target}: {len(chunks)} chunks but vectors of "
            f"shape {vectors.shape}"
        )
    return chunks, vectors


def read_meta(target: Path) -> dict[str, Any]:
    """A version directory's ``meta.json``.

    Raises:
        IndexCorruptError: It is missing or not a JSON object.
    """
    try:
        meta = json.loads((target / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(f"cannot load the index at {target}: {exc}") from exc
    if not isinstance(meta, dict):
        raise IndexCorruptError(f"cannot load the index at {target}: meta.json is not an object")
    return meta


def sync(fh: Any) -> None:
    """Flush a file object and ``fsync`` it."""
    fh.flush()
    os.fsync(fh.fileno())


def sync_dir(path: Path) -> None:
    """``fsync`` a directory, so the names in it are on disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
