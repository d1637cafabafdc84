"""``contextual-avatar bench``: run every benchmark script and write one report.

Run: ``.venv/bin/python benchmarks/report.py [NAME ...] [--report-only] [--timeout S]``
(``contextual-avatar bench`` runs this file of the checkout it is pointed at). It is
tooling of the source checkout, not of the installed package, so it imports nothing
from ``contextual_avatar``.

:func:`run_bench` runs the scripts one at a time (each in a fresh interpreter, from the
checkout's root; see :mod:`benchmarks.report_run`), records when, where and how long
each ran in ``benchmarks/results/bench.json``, and writes ``docs/benchmarks.md``
(:mod:`benchmarks.report_page`, with tables from :mod:`benchmarks.report_tables`). A
benchmark that fails is reported as failed, with its last output, and its previous
results (if any) are shown as such. ``run=False`` only rebuilds the report from the
results already there.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `benchmarks` importable

from benchmarks.report_page import REPORT, recorded_run, render_report
from benchmarks.report_run import (
    DEFAULT_TIMEOUT_S,
    BenchError,
    BenchRun,
    find_benchmarks,
    machine_info,
    run_benchmark,
)
from benchmarks.report_tables import Table, json_tables

__all__ = [
    "BenchError",
    "BenchReport",
    "BenchRun",
    "Table",
    "find_benchmarks",
    "json_tables",
    "machine_info",
    "main",
    "render_report",
    "run_bench",
    "run_benchmark",
]

MANIFEST = "bench.json"

Progress = Callable[[str], None]


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


def _load_manifest(path: Path) -> dict[str, BenchRun]:
    if not path.exists():
        return {}
    try:
        raw = json.loads(path.read_text("utf-8"))
        return {name: BenchRun(**fields) for name, fields in raw.items()}
    except (ValueError, TypeError) as exc:
        raise BenchError(f"cannot read {path}: {exc}; delete it and run bench again") from exc


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
        BenchError: No ``benchmarks/`` folder, or ``only`` names an unknown benchmark.
    """
    root = root.resolve()
    scripts, harnesses = find_benchmarks(root)
    names = [s.stem for s in scripts]
    unknown = sorted(set(only) - set(names))
    if unknown:
        raise BenchError(f"unknown benchmark(s) {unknown}; found {names}")
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
            runs.append(recorded_run(root, name, data))
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


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: progress on stderr, the report's path on stdout.

    Returns:
        0; 1 when a benchmark run this time failed or the request was invalid.
    """
    parser = argparse.ArgumentParser(
        description="Run the benchmark scripts and write docs/benchmarks.md."
    )
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument(
        "--report-only", action="store_true", help="run nothing; rebuild the report"
    )
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="seconds each")
    parser.add_argument(
        "--root",
        type=Path,
        default=Path(__file__).resolve().parent.parent,
        help="the checkout holding benchmarks/ and docs/ (default: this file's)",
    )
    args = parser.parse_args(argv)
    try:
        report = run_bench(
            args.root,
            only=args.names,
            run=not args.report_only,
            timeout_s=args.timeout,
            progress=lambda line: print(line, file=sys.stderr, flush=True),
        )
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {report.path} ({len(report.runs)} benchmarks)")
    if report.failed:
        print(f"failed: {', '.join(report.failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
