"""`contextual-avatar bench` and benchmarks/report.py: run a checkout's benchmarks, write the report."""

from __future__ import annotations

import json
import shutil
import struct
import zlib
from pathlib import Path

import pytest
from benchmarks.report import BenchError, find_benchmarks, json_tables, run_bench
from benchmarks.report_run import GENERATOR_MODULES
from typer.testing import CliRunner

from contextual_avatar.cli import app

REPO = Path(__file__).resolve().parents[1]


def tiny_png() -> bytes:
    """A valid 1x1 grey PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\x80"))
        + chunk(b"IEND", b"")
    )


GOOD = '''"""A good benchmark: hit rate per policy.

More text that is not the summary.
"""
import json, sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from benchmarks.harness import RATE

runs = HERE / "results" / "good.runs"
runs.write_text(runs.read_text() + "x" if runs.exists() else "x")
print("policy  hit_rate")
print(f"lru     {RATE}")
(HERE / "results" / "good.json").write_text(json.dumps({
    "date": "ignored when run by bench",
    "policies": {"lru": {"hit_rate": RATE, "capacity": 5}, "lfu": {"hit_rate": 0.4, "capacity": 5}},
    "trace": [{"t": i, "bps": i * 10} for i in range(500)],
}))
(HERE / "results" / "good.png").write_bytes((HERE / "png.bin").read_bytes())
'''

HARNESS = '''"""Shared harness: would leave a marker if run alone."""
from pathlib import Path
RATE = 0.625
if __name__ == "__main__":
    (Path(__file__).parent / "results" / "harness.ran").write_text("ran")
'''

BROKEN = '''"""A benchmark that fails."""
import sys
print("starting")
sys.exit("needs a server that is not there")
'''


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    bench = tmp_path / "benchmarks"
    (bench / "results").mkdir(parents=True)
    (bench / "__init__.py").write_text("")
    (bench / "png.bin").write_bytes(tiny_png())
    (bench / "good.py").write_text(GOOD)
    (bench / "harness.py").write_text(HARNESS)
    (bench / "broken.py").write_text(BROKEN)
    (bench / "_private.py").write_text("raise SystemExit('never run')\n")
    for name in GENERATOR_MODULES:  # the CLI runs the checkout's own generator
        shutil.copy(REPO / "benchmarks" / f"{name}.py", bench / f"{name}.py")
    return tmp_path


def test_harness_and_private_modules_are_not_benchmarks(checkout: Path):
    benchmarks, harnesses = find_benchmarks(checkout)
    assert [p.stem for p in benchmarks] == ["broken", "good"]
    assert [p.stem for p in harnesses] == ["harness"]


def test_the_repository_benchmarks_exclude_the_report_generator():
    benchmarks, harnesses = find_benchmarks(REPO)
    names = {p.stem for p in benchmarks} | {p.stem for p in harnesses}
    assert not names & GENERATOR_MODULES
    assert {"codecs", "import_time"} <= {p.stem for p in benchmarks}


def test_no_benchmarks_folder_is_an_error(tmp_path: Path):
    with pytest.raises(BenchError, match="no benchmarks/ folder"):
        run_bench(tmp_path)


def test_run_writes_one_report_with_tables_plots_commands_machine_and_date(checkout: Path):
    news: list[str] = []
    report = run_bench(checkout, progress=news.append)

    assert report.path == checkout / "docs" / "benchmarks.md"
    assert report.failed == ("broken",)
    assert report.skipped == ("harness",)
    assert not (checkout / "benchmarks" / "results" / "harness.ran").exists()
    assert any("running good" in line for line in news)
    text = report.path.read_text()

    good = text.split("## good", 1)[1]
    assert "A good benchmark: hit rate per policy." in good
    assert "More text" not in good
    assert "Reproduce: `.venv/bin/python benchmarks/good.py`" in good
    assert "| lru | 0.625 | 5 |" in good  # a row per policy, from the JSON
    assert "| lfu | 0.400 | 5 |" in good
    assert "lru     0.625" in good  # the table the script printed
    assert "![good](../benchmarks/results/good.png)" in good
    assert "| 499 |" not in good  # a 500-point trace is left to the plot
    assert report.machine in good and "cores" in report.machine
    run = next(r for r in report.runs if r.name == "good")
    assert run.returncode == 0 and run.date[:4].isdigit() and run.date in good

    broken = text.split("## broken", 1)[1].split("## good", 1)[0]
    assert "The last run failed" in broken
    assert "needs a server that is not there" in broken
    assert "FAILED (1)" in text

    manifest = json.loads((checkout / "benchmarks" / "results" / "bench.json").read_text())
    assert set(manifest) == {"broken", "good"}
    assert manifest["good"]["returncode"] == 0


def test_report_only_runs_nothing_and_keeps_what_the_last_run_recorded(checkout: Path):
    first = run_bench(checkout)
    again = run_bench(checkout, run=False)
    assert (checkout / "benchmarks" / "results" / "good.runs").read_text() == "x"
    assert [(r.name, r.returncode, r.date) for r in again.runs] == [
        (r.name, r.returncode, r.date) for r in first.runs
    ]
    assert "FAILED (1)" in again.path.read_text()


def test_results_made_by_hand_are_reported_with_their_own_date_and_command(checkout: Path):
    results = checkout / "benchmarks" / "results"
    (results / "good.json").write_text(
        json.dumps({"meta": {"command": "python benchmarks/good.py --quick", "date": "2026-01-02"}})
    )
    report = run_bench(checkout, run=False)
    good = next(r for r in report.runs if r.name == "good")
    assert good.returncode is None and good.date == "2026-01-02"
    assert good.command == ".venv/bin/python benchmarks/good.py --quick"
    text = report.path.read_text()
    assert "not run by bench" in text
    assert "No results in `benchmarks/results/` yet." in text.split("## broken", 1)[1]


def test_only_runs_the_named_benchmarks(checkout: Path):
    report = run_bench(checkout, only=["good"])
    assert report.failed == ()
    assert report.ran == ("good",)
    assert next(r for r in report.runs if r.name == "broken").returncode is None
    with pytest.raises(BenchError, match="unknown benchmark"):
        run_bench(checkout, only=["nope"])


def test_a_hung_benchmark_is_stopped_and_reported(checkout: Path):
    (checkout / "benchmarks" / "hangs.py").write_text(
        "import threading\nprint('waiting')\nthreading.Event().wait()\n"
    )
    report = run_bench(checkout, only=["hangs"], timeout_s=1)
    assert report.failed == ("hangs",)
    assert "timeout" in report.path.read_text().split("## hangs", 1)[1]


def test_json_tables_by_shape():
    tables = json_tables(
        {
            "seconds": 1.5,
            "capacities": [1, 2, 3],
            "served": {"single": {"lru": {"hit": 0.5}, "lfu": {"hit": 0.25}}},
            "rows": [{"kbps": 100, "psnr": 40.0}, {"kbps": 200, "psnr": 43.25}],
            "timeline": [{"t": i} for i in range(100)],
        }
    )
    by_title = {t.title: t for t in tables}
    assert by_title["summary"].rows == (("seconds", "1.50"), ("capacities", "1, 2, 3"))
    assert by_title["served/single"].columns == ("", "hit")
    assert by_title["served/single"].rows == (("lru", "0.500"), ("lfu", "0.250"))
    assert by_title["rows"].rows == (("100", "40.00"), ("200", "43.25"))
    assert "timeline" not in by_title
    assert "| a \\| b |" in json_tables({"x": "a | b"})[0].markdown()


def test_cli_bench_report_only_and_exit_codes(checkout: Path):
    runner = CliRunner()
    ok = runner.invoke(app, ["bench", "good", "--root", str(checkout)])
    assert ok.exit_code == 0, ok.output
    assert "wrote" in ok.output
    failed = runner.invoke(app, ["bench", "broken", "--root", str(checkout)])
    assert failed.exit_code == 1
    assert "broken" in failed.output
    rebuilt = runner.invoke(app, ["bench", "--report-only", "--root", str(checkout)])
    assert rebuilt.exit_code == 0, rebuilt.output  # ran nothing, so nothing failed now
    assert "FAILED (1)" in (checkout / "docs" / "benchmarks.md").read_text()
    unknown = runner.invoke(app, ["bench", "nope", "--root", str(checkout)])
    assert unknown.exit_code == 1
    assert "unknown benchmark" in unknown.output


def test_cli_bench_outside_a_checkout_says_so(tmp_path: Path):
    runner = CliRunner()
    missing = runner.invoke(app, ["bench", "--root", str(tmp_path / "nowhere")])
    assert missing.exit_code == 1
    assert "no benchmarks/ folder" in missing.output
    assert "source checkout" in missing.output
    (tmp_path / "benchmarks").mkdir()
    no_generator = runner.invoke(app, ["bench", "--root", str(tmp_path)])
    assert no_generator.exit_code == 1
    assert "report.py not found" in no_generator.output
