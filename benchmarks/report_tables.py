"""Markdown tables from a benchmark's result JSON, found by shape (part of ``report.py``).

Benchmarks write whatever JSON suits them; the report shows it without per-benchmark
code by reading its shape: scalar fields become a ``field | value`` table, a dict of
records or a short list of records a table with a row each. Long lists (traces,
timelines) are left to the plots.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Table", "json_tables"]

_MAX_ROWS = 40
_MAX_COLUMNS = 12
_MAX_TABLES = 30
_INLINE_LIST = 12


@dataclass(frozen=True, slots=True)
class Table:
    """A markdown table built from part of a result JSON.

    Parameters:
        title: Where in the JSON it came from (``stages``, ``coqa/dense``).
        columns: Header cells.
        rows: Body cells, already formatted.
    """

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    def markdown(self) -> str:
        """The table in GitHub/mkdocs markdown."""
        lines = [
            "| " + " | ".join(_cell(c) for c in self.columns) + " |",
            "|" + "---|" * len(self.columns),
        ]
        lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in self.rows]
        return "\n".join(lines)


def _is_scalar(value: object) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _fmt(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return str(value).lower() if value is not None else "-"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        magnitude = abs(value)
        if magnitude >= 1000:
            return f"{value:,.0f}"
        if magnitude >= 100:
            return f"{value:.1f}"
        if magnitude >= 1 or value == 0:
            return f"{value:.2f}"
        return f"{value:.3f}" if magnitude >= 0.01 else f"{value:.3g}"
    if isinstance(value, list):
        return ", ".join(_fmt(v) for v in value)
    return str(value)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _is_record(value: object) -> bool:
    """A dict with at least one scalar field: one row of a table."""
    return isinstance(value, dict) and any(_is_scalar(v) for v in value.values())


def _short_list(value: object) -> bool:
    return (
        isinstance(value, list)
        and len(value) <= _INLINE_LIST
        and all(_is_scalar(v) and not isinstance(v, str) for v in value)
    )


def _columns(records: Sequence[Mapping[str, Any]]) -> list[str]:
    columns: list[str] = []
    for record in records:
        for key, value in record.items():
            if (_is_scalar(value) or _short_list(value)) and key not in columns:
                columns.append(key)
    return columns[:_MAX_COLUMNS]


def json_tables(data: object, *, title: str = "") -> list[Table]:
    """Tables for a result JSON, found by shape, in document order.

    A dict's scalar fields make a ``field | value`` table; a dict whose values are dicts
    with scalar fields (``{"lru": {"hit_rate": ..}, "lfu": {..}}``) makes one table with a
    row per key; a list of such dicts makes a row per item. Long lists of records (traces,
    timelines) are left to the plots. At most 30 tables of 40 rows and 12 columns.

    Args:
        data: The parsed JSON.
        title: Path of ``data`` inside the document, for nested calls.

    Returns:
        The tables.
    """
    tables: list[Table] = []
    _collect(data, title, tables)
    return tables[:_MAX_TABLES]


def _collect(node: object, path: str, out: list[Table]) -> None:
    if len(out) >= _MAX_TABLES:
        return
    if isinstance(node, list):
        items = [v for v in node if _is_record(v)]
        if items and len(items) == len(node) and len(node) <= _MAX_ROWS:
            columns = _columns(items)
            body = tuple(tuple(_fmt(r.get(c, "")) for c in columns) for r in items)
            out.append(Table(path or "results", tuple(columns), body))
        return
    if not isinstance(node, dict):
        return
    scalars = {k: v for k, v in node.items() if _is_scalar(v) or _short_list(v)}
    if scalars:
        rows = tuple((k, _fmt(v)) for k, v in scalars.items())
        out.append(Table(path or "summary", ("field", "value"), rows))
    records = {k: v for k, v in node.items() if _is_record(v)}
    if len(records) >= 2 and len(records) <= _MAX_ROWS:
        columns = _columns(list(records.values()))
        rows = tuple((k, *(_fmt(r.get(c, "")) for c in columns)) for k, r in records.items())
        out.append(Table(path or "results", ("", *columns), rows))
        nested = {
            f"{k}/{sub}": v
            for k, r in records.items()
            for sub, v in r.items()
            if not (_is_scalar(v) or _short_list(v))
        }
        for sub_path, value in nested.items():
            _collect(value, _join(path, sub_path), out)
        rest = {k: v for k, v in node.items() if k not in scalars and k not in records}
    else:
        rest = {k: v for k, v in node.items() if k not in scalars}
    for key, value in rest.items():
        _collect(value, _join(path, key), out)


def _join(path: str, key: str) -> str:
    return f"{path}/{key}" if path else key
