"""Which indexed documents a name given by a caller designates (for removal).

A caller names a document as it knows it: the path it ingested, the content hash, or
just the file name. A file name that matches several paths is refused rather than
guessed, so a removal never takes the wrong document.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from contextual_avatar.errors import InputError
from contextual_avatar.retrieval._faiss import DocRecord

__all__ = ["matching"]


def matching(records: Sequence[DocRecord], name: str) -> list[DocRecord]:
    """The records ``name`` designates (see :meth:`Corpus.remove`).

    Raises:
        InputError: Nothing matches, or a base name matches several paths.
    """
    if not isinstance(name, str) or not name.strip():
        raise InputError(f"name the document to remove (a path, file name or id), got {name!r}")
    by_path = [r for r in records if r.path == name or r.path == _resolved(name)]
    if by_path:
        return by_path
    by_id = [r for r in records if r.doc_id == name]
    if by_id:
        return by_id
    by_name = [r for r in records if r.name == name]
    if len(by_name) > 1:
        paths = ", ".join(r.path for r in by_name)
        raise InputError(f"{name!r} names {len(by_name)} documents ({paths}); give the path")
    if not by_name:
        raise InputError(f"no document {name!r} is indexed")
    return by_name


def _resolved(name: str) -> str:
    try:
        return str(Path(name).resolve())
    except (OSError, ValueError):
        return name
