"""Versions published as deltas, so a live update costs the size of the change.

A full version holds every row (``vectors.npy``, ``chunks.jsonl``, ``lexical/``, maybe
``dense.faiss``): reading one is linear in the collection (2.5-5 s per 100,000 chunks on
the shared 2-core machine, mostly parsing chunks). So a change is published, when it can
be, as a *delta*: a new version directory holding hard links to its base's files (free,
and the old directory can still be deleted), the earlier deltas of the chain, and one
new pair ``delta-<id>.json`` (the changes in order: chunks added, documents removed,
chunks relabelled, and the change of records) and ``delta-<id>.npy`` (the added
vectors). ``meta.json`` names the chain (``{"base": id, "deltas": [ids]}``) and holds
all records; ``chain.json`` repeats the chain and row count, so a follower decides
without parsing every record.

A process that has loaded the version the chain extends reads only the missing deltas
and replays them on a fork of its index and its BM25 twin (:func:`advance`), the same
code the writer ran; a process that has not loads the base and replays the whole chain.
Either way the result is the index a fresh load gives (tested). Every ``MAX_DELTAS``
changes the writer publishes a full version again (a *compaction*) that says which
chain it equals and keeps that chain's deltas (linked) until the next compaction, so a
process that followed the old chain, even one left behind, only applies what it misses.

A change is published in full instead when its result could not be replayed exactly:
an approximate index was rebuilt or retrained (a removal from IVF, a switch of kind),
the index is HNSW (its inserts are not deterministic), or the base's lexical files are
of an older format.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from contextual_avatar._serde import chunk_from_dict, chunk_to_dict
from contextual_avatar.errors import IndexCorruptError
from contextual_avatar.retrieval._ann import DenseSpec
from contextual_avatar.retrieval._bm25 import LEXICAL_DIR, BM25Index
from contextual_avatar.retrieval._faiss import DocRecord, FaissIndex, Op
from contextual_avatar.retrieval._files import new_version, read_meta, switch, sync, sync_dir

__all__ = ["MAX_DELTAS", "Chain", "advance", "chain_of", "lexical_after", "publish", "replay"]

#: Deltas in a chain before the writer publishes a full version again.
MAX_DELTAS = 16
_META = "meta.json"
_CHAIN = "chain.json"
_LEXICAL_FORMAT = 2


@dataclass(frozen=True, slots=True)
class Chain:
    """What a version is: a base (a full version's id) and the deltas applied to it."""

    base: str
    deltas: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"base": self.base, "deltas": list(self.deltas)}


def chain_of(meta: dict[str, Any], name: str) -> Chain:
    """A version's chain; a version written before deltas is a base named by its folder."""
    raw = meta.get("chain")
    if not isinstance(raw, dict):
        return Chain(name)
    return Chain(str(raw.get("base", name)), tuple(str(d) for d in raw.get("deltas", ())))


def _missing(have: Chain, meta: dict[str, Any], name: str) -> tuple[list[str], Chain] | None:
    """The deltas that take ``have`` to this version, or ``None`` when it cannot be done."""
    chain = chain_of(meta, name)
    if have.base == chain.base and chain.deltas[: len(have.deltas)] == have.deltas:
        return list(chain.deltas[len(have.deltas) :]), chain
    raw = meta.get("compacted")  # the base equals that chain: catch up through it
    if isinstance(raw, dict):
        before = Chain(str(raw.get("base")), tuple(str(d) for d in raw.get("deltas", ())))
        if have.base == before.base and before.deltas[: len(have.deltas)] == have.deltas:
            return [*before.deltas[len(have.deltas) :], *chain.deltas], chain
    return None


# -- reading and replaying -----------------------------------------------------------------


def load_index(
    directory: Path, *, dim: int, embedder: str, spec: DenseSpec | None = None
) -> FaissIndex:
    """The published version of ``directory`` in full: its base, then its deltas replayed.

    Raises:
        IndexCorruptError: A file of the version cannot be read.
        ConfigError: The index was built with another embedder.
    """
    index = FaissIndex.load(directory, dim=dim, embedder=embedder, spec=spec)
    target = FaissIndex.current_version(directory)
    if target is not None:
        meta = read_meta(target)
        replay(index, target, chain_of(meta, target.name).deltas)
        index.set_records(meta)
    return index


def read_delta(folder: Path, uid: str) -> list[tuple[Any, ...]]:
    """The changes of delta ``uid`` in ``folder``, with their chunks and vectors.

    Raises:
        IndexCorruptError: Its files are missing or malformed.
    """
    return _read_delta(folder, uid)[0]


def _read_delta(folder: Path, uid: str) -> tuple[list[tuple[Any, ...]], dict[str, Any] | None]:
    """A delta's changes and its change of records (``None``: not recorded)."""
    try:
        raw = json.loads((folder / f"delta-{uid}.json").read_text(encoding="utf-8"))
        ops, names = (raw["ops"], raw.get("records")) if isinstance(raw, dict) else (raw, None)
        vectors = np.load(folder / f"delta-{uid}.npy", allow_pickle=False)
        out: list[tuple[Any, ...]] = []
        for op in ops:
            if op[0] == "add":
                start, stop = int(op[1]), int(op[2])
                out.append(("add", [chunk_from_dict(c) for c in op[3]], vectors[start:stop]))
            elif op[0] in ("remove", "rename"):
                out.append(tuple(op))
            else:
                raise ValueError(f"unknown change {op[0]!r}")
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise IndexCorruptError(f"cannot read delta {uid} in {folder}: {exc}") from exc
    return out, names if isinstance(names, dict) else None


def replay(index: FaissIndex, folder: Path, deltas: Sequence[str], *, names: bool = False) -> bool:
    """Apply the deltas (read from ``folder``) to ``index``, in order.

    Args:
        index: The index of the version the first delta applies to.
        folder: The version directory holding the deltas.
        deltas: Their ids, in order.
        names: Also apply their changes of records (``index`` has the records of that
            version; after a full load it has the latest ones, from ``meta.json``).

    Returns:
        Whether the records were brought up to date (every delta carried its change of
        records); if not, the caller takes them from ``meta.json``.

    Raises:
        IndexCorruptError: A delta is missing or does not fit the index.
    """
    records = dict(index._records)
    complete = names
    for uid in deltas:
        ops, change = _read_delta(folder, uid)
        for op in ops:
            if op[0] == "add":
                if len(op[1]) != len(op[2]) or any(index.row(c.id) is not None for c in op[1]):
                    raise IndexCorruptError(f"delta {uid} in {folder} does not fit its base")
                index.append(op[1], op[2])
            elif op[0] == "remove":
                index.remove_doc(str(op[1]))
            else:
                index._rename(str(op[1]), str(op[2]), str(op[3]))
        complete = complete and change is not None
        if complete and change is not None:
            _apply_names(records, change, f"delta {uid} in {folder}")
    if complete:
        index._records = records
    return complete


def _apply_names(records: dict[str, DocRecord], names: dict[str, Any], where: str) -> None:
    """Apply a change of records: paths dropped, then records appended in order."""
    try:
        for path in names["removed"]:
            del records[path]
        for raw in names["added"]:
            records[raw["path"]] = DocRecord(**raw)
    except (KeyError, TypeError) as exc:
        raise IndexCorruptError(f"{where} does not fit its base: {exc}") from exc


def _names_change(before: Sequence[DocRecord], after: Sequence[DocRecord]) -> dict[str, Any]:
    """The change of records from ``before`` to ``after``: paths removed, records appended.

    Unchanged records keep their order and new ones come last, as the index's changes
    leave them; anything else is written as every record removed and added again.
    """
    now = {r.path: r for r in after}
    kept = [r.path for r in before if now.get(r.path) == r]
    order = [r.path for r in after]
    if order[: len(kept)] != kept:
        kept = []
    staying = set(kept)
    dropped = [r.path for r in before if r.path not in staying]
    return {"removed": dropped, "added": [asdict(r) for r in after[len(kept) :]]}


def lexical_after(lexical: BM25Index, journal: Sequence[Op]) -> BM25Index:
    """The BM25 twin after the changes a forked index recorded (new object)."""
    for op in journal:
        if op[0] == "add":
            lexical = lexical.with_chunks(op[1])
        elif op[0] == "remove":
            lexical = lexical.without(op[2])
    return lexical


def advance(
    index: FaissIndex, lexical: BM25Index, have: Chain, target: Path
) -> tuple[FaissIndex, BM25Index, Chain] | None:
    """The published version ``target`` reached from a loaded one by its missing deltas.

    Returns ``None`` when ``target`` does not extend ``have`` (a full version, another
    chain): the caller loads it in full. The loaded index is forked, never changed.

    Raises:
        IndexCorruptError: The delta files are missing, malformed or do not fit.
    """
    meta = _read_chain(target)
    if meta.get("embedder") != index.embedder or int(meta.get("dim", -1)) != index.dim:
        return None
    found = _missing(have, meta, target.name)
    if found is None:
        return None
    todo, chain = found
    fork = index.fork()
    if not replay(fork, target, todo, names=True):
        fork.set_records(read_meta(target))
    if len(fork) != int(meta.get("rows", -1)):
        raise IndexCorruptError(f"the deltas in {target} do not give its {meta.get('rows')} rows")
    journal, fork.journal = fork.journal or [], None
    return fork, lexical_after(lexical, journal), chain


# -- publishing ----------------------------------------------------------------------------


def publish(
    directory: Path,
    base: Chain | None,
    index: FaissIndex,
    lexical: BM25Index,
    before: Sequence[DocRecord] = (),
) -> tuple[str, Chain]:
    """Publish a forked, changed index (and its BM25 twin): as a delta when possible.

    Args:
        directory: The index folder.
        base: The chain of the version the fork was taken from (``None``: nothing
            published yet).
        index: The fork, its :attr:`FaissIndex.journal` holding the changes.
        lexical: The BM25 index after the same changes.
        before: The records of the version the fork was taken from.

    Returns:
        The new version's directory name and chain.
    """
    journal = index.journal or []
    names = _names_change(before, index.records)
    current = FaissIndex.current_version(directory)
    replayable = (
        base is not None
        and current is not None
        and not index.dense_rebuilt
        and index.dense_kind in ("flat", "ivf")
        and _lexical_format(current) == _LEXICAL_FORMAT
    )
    if not replayable or base is None or current is None:
        chain = Chain(uuid.uuid4().hex)
        said = {"chain": chain.to_json()}

        def full(target: Path) -> None:
            lexical.save(target)
            _write_chain(target, index, said)

        index.save(directory, extra=full, meta_extra=said)
        return _published(directory), chain
    uid = uuid.uuid4().hex
    if len(base.deltas) + 1 >= MAX_DELTAS:  # compact: a full version that says what it equals
        chain = Chain(uuid.uuid4().hex)
        compacted = Chain(base.base, (*base.deltas, uid))

        said = {"chain": chain.to_json(), "compacted": compacted.to_json()}

        def extra(target: Path) -> None:
            lexical.save(target)
            _link_deltas(current, target, base.deltas)
            _write_delta(target, uid, journal, names)
            _write_chain(target, index, said)

        index.save(directory, extra=extra, meta_extra=said)
        return _published(directory), chain
    chain = Chain(base.base, (*base.deltas, uid))
    target = new_version(directory)
    for path in current.rglob("*"):  # the base's files and the earlier deltas
        if path.is_file() and path not in (current / _META, current / _CHAIN):
            _link(path, target / path.relative_to(current))
    _write_delta(target, uid, journal, names)
    meta = read_meta(current)  # a "compacted" note stays with its base (files linked too)
    meta["docs"] = [asdict(r) for r in index.records]
    meta["rows"], meta["chain"] = len(index), chain.to_json()
    said = {k: meta[k] for k in ("chain", "compacted") if k in meta}
    _write_chain(target, index, said)
    with (target / "meta.json").open("w", encoding="utf-8") as fh:
        json.dump(meta, fh, ensure_ascii=False)
        sync(fh)
    sync_dir(target)
    switch(directory, target.name)
    return target.name, chain


def _published(directory: Path) -> str:
    current = FaissIndex.current_version(directory)
    return "" if current is None else current.name


def _lexical_format(version: Path) -> int:
    try:
        meta = json.loads((version / LEXICAL_DIR / "meta.json").read_text(encoding="utf-8"))
        return int(meta.get("format", 0))
    except (OSError, ValueError, AttributeError):
        return 0


def _write_chain(target: Path, index: FaissIndex, said: dict[str, Any]) -> None:
    """``chain.json``: what a follower needs to decide, without the whole ``meta.json``."""
    small = {"dim": index.dim, "embedder": index.embedder, "rows": len(index), **said}
    with (target / _CHAIN).open("w", encoding="utf-8") as fh:
        json.dump(small, fh)
        sync(fh)


def _read_chain(target: Path) -> dict[str, Any]:
    """A version's ``chain.json``, or its ``meta.json`` when it has none."""
    try:
        small = json.loads((target / _CHAIN).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return read_meta(target)
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(f"cannot read {target / _CHAIN}: {exc}") from exc
    if not isinstance(small, dict):
        raise IndexCorruptError(f"cannot read {target / _CHAIN}: not an object")
    return small


def _write_delta(target: Path, uid: str, journal: Sequence[Op], names: dict[str, Any]) -> None:
    ops: list[list[Any]] = []
    vectors = []
    row = 0
    for op in journal:
        if op[0] == "add":
            chunks = [chunk_to_dict(c) for c in op[1]]
            ops.append(["add", row, row + len(chunks), chunks])
            vectors.append(op[2])
            row += len(chunks)
        elif op[0] == "remove":
            ops.append(["remove", op[1]])
        else:
            ops.append(list(op))
    dim = vectors[0].shape[1] if vectors else 0
    stacked = np.concatenate(vectors) if vectors else np.zeros((0, dim), np.float32)
    with (target / f"delta-{uid}.npy").open("wb") as fh:
        np.save(fh, stacked.astype(np.float32))
        sync(fh)
    with (target / f"delta-{uid}.json").open("w", encoding="utf-8") as fh:
        json.dump({"ops": ops, "records": names}, fh, ensure_ascii=False)
        sync(fh)


def _link_deltas(source: Path, target: Path, deltas: Sequence[str]) -> None:
    for uid in deltas:
        for suffix in (".json", ".npy"):
            _link(source / f"delta-{uid}{suffix}", target / f"delta-{uid}{suffix}")


def _link(source: Path, target: Path) -> None:
    """A hard link (free, and immune to the source folder's deletion), else a copy."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
