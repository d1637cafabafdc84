"""``contextual-avatar bench``: run every benchmark script and write one report.

A benchmark is a script ``benchmarks/<name>.py`` in a checkout that prints a table and writes
``benchmarks/results/<name>.json`` and ``<name>.png``. A module that other benchmarks import
(``from benchmarks.replay import ...``) is a shared harness, not a benchmark, and is not run.

:func:`run_bench` runs the scripts one at a time (each in a fresh interpreter, from the
checkout's root), records when, where and how long each ran in
``benchmarks/results/bench.json``, and writes ``docs/benchmarks.md``: per benchmark its
reproduce command, the machine and date of its results, its plots (linked in
``benchmarks/results/``; the docs site's hooks publish them), tables built from its JSON,
and the table it printed. A benchmark that fails is
reported as failed, with its last output, and its previous results (if any) are shown as
such. ``run=False`` only rebuilds the report from the results already there.
"""

from __future__ import annotations

import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from contextual_avatar.errors import ConfigError

__all__ = [
    "BenchReport",
    "BenchRun",
    "Table",
    "find_benchmarks",
    "json_tables",
    "machine_info",
    "render_report",
    "run_bench",
    "run_benchmark",
]

#: Seconds one benchmark script may run before it is stopped and reported as failed.
DEFAULT_TIMEOUT_S = 3600.0
#: Lines of a script's printed output kept for the report.
OUTPUT_TAIL_LINES = 60
MANIFEST = "bench.json"
REPORT = Path("docs") / "benchmarks.md"
_MAX_ROWS = 40
_MAX_COLUMNS = 12
_MAX_TABLES = 30
_INLINE_LIST = 12
_HARNESS_IMPORT = re.compile(r"^\s*(?:from|import)\s+benchmarks\.(\w+)", re.MULTILINE)

Progress = Callable[[str], None]


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


@dataclass(frozen=True, slots=True)
class BenchReport:
    """What :func:`run_bench` did.

    Parameters:
        path: The report written (``docs/benchmarks.md``).
        runs: One entry per benchmark, in name order.
        machine: The machine the command ran on.
        ran: Names of the benchmarks run this time (the others kept their last results).
        skipped: Harness modules found but not run.
    """

    path: Path
    runs: tuple[BenchRun, ...]
    machine: str
    ran: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()

    @property
    def failed(self) -> tuple[str, ...]:
        """Names of the benchmarks run this time that failed."""
        return tuple(r.name for r in self.runs if r.failed and r.name in self.ran)


# -- discovery and running ---------------------------------------------------------------


def find_benchmarks(root: Path) -> tuple[list[Path], list[Path]]:
    """The benchmark scripts under ``root/benchmarks``, and the harness modules skipped.

    Args:
        root: The checkout's root.

    Returns:
        ``(benchmarks, harnesses)``, each sorted by name.

    Raises:
        ConfigError: ``root`` has no ``benchmarks`` folder.
    """
    folder = root / "benchmarks"
    if not folder.is_dir():
        raise ConfigError(f"no benchmarks/ folder under {root}: run bench from the checkout")
    scripts = sorted(p for p in folder.glob("*.py") if not p.name.startswith("_"))
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


def _now() -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())


def _tail(text: str, lines: int = OUTPUT_TAIL_LINES) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


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
    date = _now()
    started = time.perf_counter()
    try:
        done = subprocess.run(  # noqa: S603 - our own interpreter on a script of the checkout
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


def _text(raw: str | bytes | None) -> str:
    if raw is None:
        return ""
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw


# -- tables from JSON -----------------------------------------------------------------------


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


# -- the report -----------------------------------------------------------------------------


def _git_date(root: Path, path: Path) -> str | None:
    git = shutil.which("git")
    if git is None:
        return None
    try:
        done = subprocess.run(  # noqa: S603 - fixed git invocation, path is ours
            [git, "log", "-1", "--format=%cs", "--", str(path.relative_to(root))],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None


def _recorded(root: Path, name: str, data: object) -> BenchRun:
    """What is known about results produced outside ``bench`` (a run by hand)."""
    command = f".venv/bin/python benchmarks/{name}.py"
    date = machine = None
    if isinstance(data, dict):
        meta = data.get("meta") if isinstance(data.get("meta"), dict) else data
        assert isinstance(meta, dict)
        if isinstance(meta.get("command"), str):
            command = ".venv/bin/" + meta["command"].removeprefix(".venv/bin/")
        date = meta.get("date") if isinstance(meta.get("date"), str) else None
        raw = meta.get("machine")
        if isinstance(raw, str):
            machine = raw
        elif isinstance(raw, dict):
            machine = ", ".join(f"{k} {v}" for k, v in raw.items())
    results = root / "benchmarks" / "results" / f"{name}.json"
    if date is None and results.exists():
        date = _git_date(root, results) or time.strftime(
            "%Y-%m-%d", time.gmtime(results.stat().st_mtime)
        )
    return BenchRun(
        name=name,
        command=command,
        date=date or "unknown",
        machine=machine or "not recorded",
    )


def render_report(
    runs: Sequence[BenchRun],
    *,
    root: Path,
    machine: str,
    skipped: Sequence[str] = (),
) -> str:
    """The markdown of ``docs/benchmarks.md`` for these runs.

    Plots are linked where the benchmarks wrote them (``../benchmarks/results/NAME.png``);
    the docs site's hooks (``scripts/mkdocs_hooks.py``) publish them with the site.

    Args:
        runs: One per benchmark.
        root: The checkout's root.
        machine: The machine ``bench`` ran on.
        skipped: Harness modules found but not run.

    Returns:
        The page.
    """
    results_dir = root / "benchmarks" / "results"
    report_dir = (root / REPORT).parent
    lines = [
        "# Benchmarks",
        "",
        "<!-- GENERATED by `contextual-avatar bench`: do not edit by hand. -->",
        "",
        "Every figure on this page was measured by a script in `benchmarks/`, run by",
        "`contextual-avatar bench` (or `make bench`), which runs each script, collects the",
        "JSON and PNG files it writes to `benchmarks/results/`, and writes this page.",
        "`contextual-avatar bench --report-only` rebuilds the page from the results there.",
        "",
        f"Report written {_now()} on: {machine}.",
        "",
        "| benchmark | status | results from | seconds | reproduce |",
        "|---|---|---|---|---|",
    ]
    for run in runs:
        status = (
            "not run by bench"
            if run.returncode is None
            else ("ok" if run.returncode == 0 else f"FAILED ({run.returncode})")
        )
        seconds = f"{run.seconds:.0f}" if run.seconds is not None else "-"
        lines.append(
            f"| [{run.name}](#{_anchor(run.name)}) | {status} | {run.date} | {seconds} "
            f"| `{run.command}` |"
        )
    if skipped:
        lines += ["", "Shared harness modules (imported by the benchmarks, not run alone): "]
        lines[-1] += ", ".join(f"`benchmarks/{s}.py`" for s in skipped) + "."
    for run in runs:
        lines += ["", f"## {run.name}", ""]
        script = root / "benchmarks" / f"{run.name}.py"
        doc = _docstring_summary(script)
        if doc:
            lines += [doc, ""]
        lines += [
            f"- Reproduce: `{run.command}`",
            f"- Results from: {run.date}; machine: {run.machine}",
        ]
        if run.seconds is not None:
            lines.append(f"- Run time: {run.seconds:.0f} s")
        if run.failed:
            lines += [
                "",
                '!!! failure "The last run failed"',
                "    The results below, if any, are from an earlier run.",
                "",
                "    ```text",
                *("    " + line for line in run.output.splitlines()),
                "    ```",
            ]
        results = results_dir / f"{run.name}.json"
        plots = sorted(results_dir.glob(f"{run.name}*.png"))
        if not results.exists() and not plots:
            lines += ["", "No results in `benchmarks/results/` yet."]
            continue
        for plot in plots:
            rel = os.path.relpath(plot, report_dir)
            lines += ["", f"![{plot.stem}]({Path(rel).as_posix()})"]
        if results.exists():
            data = json.loads(results.read_text("utf-8"))
            for table in json_tables(data):
                lines += ["", f"**{table.title}**", "", table.markdown()]
            lines += ["", f"Full results: `benchmarks/results/{run.name}.json`."]
        if run.output and not run.failed:
            lines += [
                "",
                '??? note "Printed output of the last run"',
                "    ```text",
                *("    " + line for line in run.output.splitlines()),
                "    ```",
            ]
    return "\n".join(lines) + "\n"


def _anchor(name: str) -> str:
    return re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-")


def _docstring_summary(script: Path) -> str:
    """The first paragraph of a script's module docstring."""
    try:
        import ast

        doc = ast.get_docstring(ast.parse(script.read_text("utf-8")))
    except (OSError, SyntaxError, ValueError):
        return ""
    return " ".join(doc.split("\n\n", 1)[0].split()) if doc else ""


def _load_manifest(path: Path) -> dict[str, BenchRun]:
    if not path.exists():
        return {}
    try:
        raw = json.loads(path.read_text("utf-8"))
        return {name: BenchRun(**fields) for name, fields in raw.items()}
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}; delete it and run bench again") from exc


def run_bench(
    root: Path,
    *,
    only: Sequence[str] = (),
    run: bool = True,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    progress: Progress | None = None,
) -> BenchReport:
    """Run the benchmarks (all, or ``only`` these) and write ``docs/benchmarks.md``.

    Args:
        root: The checkout's root.
        only: Names of benchmarks to run (the others keep their last results).
        run: ``False`` writes the report from the results already in ``benchmarks/results``.
        timeout_s: Seconds each script may run.
        progress: Called with a line of news before and after each script.

    Returns:
        What was written and how each benchmark ran.

    Raises:
        ConfigError: No ``benchmarks/`` folder, or ``only`` names an unknown benchmark.
    """
    root = root.resolve()
    scripts, harnesses = find_benchmarks(root)
    names = [s.stem for s in scripts]
    unknown = sorted(set(only) - set(names))
    if unknown:
        raise ConfigError(f"unknown benchmark(s) {unknown}; found {names}")
    results_dir = root / "benchmarks" / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    manifest_path = results_dir / MANIFEST
    manifest = _load_manifest(manifest_path)
    machine = machine_info()
    runs: list[BenchRun] = []
    for script in scripts:
        name = script.stem
        if run and (not only or name in only):
            if progress:
                progress(f"running {name} ...")
            result = run_benchmark(script, root=root, timeout_s=timeout_s, machine=machine)
            manifest[name] = result
            manifest_path.write_text(
                json.dumps({k: asdict(v) for k, v in sorted(manifest.items())}, indent=2) + "\n"
            )
            if progress:
                state = "ok" if not result.failed else f"FAILED (exit {result.returncode})"
                progress(f"{name}: {state} in {result.seconds or 0:.0f} s")
            runs.append(result)
        elif name in manifest:
            runs.append(manifest[name])
        else:
            results = results_dir / f"{name}.json"
            data = json.loads(results.read_text("utf-8")) if results.exists() else None
            runs.append(_recorded(root, name, data))
    report = root / REPORT
    report.parent.mkdir(parents=True, exist_ok=True)
    text = render_report(runs, root=root, machine=machine, skipped=[h.stem for h in harnesses])
    report.write_text(text, "utf-8")
    return BenchReport(
        path=report,
        runs=tuple(runs),
        machine=machine,
        ran=tuple(r.name for r in runs if run and (not only or r.name in only)),
        skipped=tuple(h.stem for h in harnesses),
    )
