"""Import cost of ``contextual_avatar`` on top of the core dependencies it cannot avoid.

Run: ``.venv/bin/python benchmarks/import_time.py [--runs 20]`` (about 30 s).

Each run is a fresh interpreter that times, with ``time.perf_counter`` around the
statement, either the baseline ``import numpy, faiss, pydantic, tiktoken`` or the same
followed by ``import contextual_avatar``; the two alternate (and swap which goes first
every run) so machine load drifts into both alike. One discarded warm-up of each fills
the bytecode caches. Reports the median of the paired differences (the package's own
cost), both medians, the modules ``contextual_avatar`` loads (its own and others), and
any optional stack (torch, whisper, PyAV, ...) that leaked into a plain import. The
package's names load lazily, so the engine path (``ContextEngine`` and a default
``EngineConfig``) is measured the same way, as a third statement.

Writes ``benchmarks/results/import_time.json`` and ``import_time.png``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.report_run import machine_info

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
BASELINE = "import numpy, faiss, pydantic, tiktoken"
PACKAGE = f"{BASELINE}; import contextual_avatar"
#: What building an engine needs loaded: the engine path (parts, pipeline, configs).
ENGINE = f"{BASELINE}; from contextual_avatar import ContextEngine, EngineConfig; EngineConfig()"
#: Optional stacks a plain ``import contextual_avatar`` must not load.
HEAVY = ("av", "whisper", "torch", "redis", "neo4j", "litellm", "sentence_transformers")

_CHILD = """
import json, sys, time
t = time.perf_counter()
{statement}
seconds = time.perf_counter() - t
print(json.dumps({{"seconds": seconds, "modules": sorted(sys.modules)}}))
"""


def measure(statement: str, cwd: str) -> tuple[float, list[str]]:
    """Seconds ``statement`` takes in a fresh interpreter, and the modules loaded after."""
    done = subprocess.run(
        [sys.executable, "-c", _CHILD.format(statement=statement)],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    out = json.loads(done.stdout.splitlines()[-1])
    return float(out["seconds"]), list(out["modules"])


def run(runs: int) -> dict[str, Any]:
    """Alternate baseline and package imports ``runs`` times each; summarise."""
    with tempfile.TemporaryDirectory() as cwd:  # nothing importable by accident from cwd
        for statement in (BASELINE, PACKAGE, ENGINE):
            measure(statement, cwd)
        samples: list[dict[str, float]] = []
        loaded: dict[str, list[str]] = {}
        statements = [BASELINE, PACKAGE, ENGINE]
        for i in range(runs):
            order = statements[i % 3 :] + statements[: i % 3]  # each goes first in turn
            timed: dict[str, float] = {}
            for statement in order:
                seconds, modules = measure(statement, cwd)
                timed[statement] = seconds * 1000.0
                loaded[statement] = modules
            samples.append(
                {
                    "run": i,
                    "baseline_ms": round(timed[BASELINE], 2),
                    "with_package_ms": round(timed[PACKAGE], 2),
                    "difference_ms": round(timed[PACKAGE] - timed[BASELINE], 2),
                    "engine_ms": round(timed[ENGINE], 2),
                    "engine_difference_ms": round(timed[ENGINE] - timed[BASELINE], 2),
                }
            )
    base_modules, pkg_modules, engine_modules = (loaded[s] for s in statements)
    ours = [
        m for m in pkg_modules if m == "contextual_avatar" or m.startswith("contextual_avatar.")
    ]
    added = sorted(set(pkg_modules) - set(base_modules) - set(ours))
    diffs = [s["difference_ms"] for s in samples]
    quartiles = statistics.quantiles(diffs, n=4)
    engine_diffs = [s["engine_difference_ms"] for s in samples]
    engine_quartiles = statistics.quantiles(engine_diffs, n=4)
    engine_ours = [m for m in engine_modules if m.split(".")[0] == "contextual_avatar"]
    return {
        "runs": runs,
        "baseline": BASELINE,
        "baseline_ms_median": round(statistics.median(s["baseline_ms"] for s in samples), 1),
        "with_package_ms_median": round(
            statistics.median(s["with_package_ms"] for s in samples), 1
        ),
        "difference_ms_median": round(statistics.median(diffs), 1),
        "difference_ms_iqr": [round(quartiles[0], 1), round(quartiles[2], 1)],
        "contextual_avatar_modules": len(ours),
        "other_modules_added": len(added),
        "heavy_modules_loaded": sorted({m.split(".")[0] for m in pkg_modules} & set(HEAVY)),
        "engine": ENGINE,
        "engine_difference_ms_median": round(statistics.median(engine_diffs), 1),
        "engine_difference_ms_iqr": [round(engine_quartiles[0], 1), round(engine_quartiles[2], 1)],
        "engine_contextual_avatar_modules": len(engine_ours),
        "engine_heavy_modules_loaded": sorted(
            {m.split(".")[0] for m in engine_modules} & set(HEAVY)
        ),
        "samples": samples,
        "modules": {"contextual_avatar": ours, "others_added": added},
        "meta": {
            "command": f"python benchmarks/import_time.py --runs {runs}",
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "machine": machine_info(),
        },
    }


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    samples = result["samples"]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.boxplot([[s["baseline_ms"] for s in samples], [s["with_package_ms"] for s in samples]])
    ax.set_xticks([1, 2], ["numpy, faiss, pydantic, tiktoken", "+ contextual_avatar"])
    ax.set_ylabel("import time, fresh interpreter (ms)")
    ax.set_title(
        f"contextual_avatar adds {result['difference_ms_median']:.0f} ms (median of "
        f"{result['runs']} paired runs), {result['contextual_avatar_modules']} modules",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="paired runs (default 20)")
    args = parser.parse_args()
    result = run(args.runs)
    print(f"{'statement':<46}{'median ms':>12}")
    print(f"{BASELINE:<46}{result['baseline_ms_median']:>12.1f}")
    print(f"{'  + import contextual_avatar':<46}{result['with_package_ms_median']:>12.1f}")
    low, high = result["difference_ms_iqr"]
    print(
        f"{'difference (median of pairs, IQR)':<46}{result['difference_ms_median']:>12.1f}"
        f"  [{low:.1f}, {high:.1f}]"
    )
    print(f"{'contextual_avatar modules loaded':<46}{result['contextual_avatar_modules']:>12}")
    print(f"{'other modules it adds':<46}{result['other_modules_added']:>12}")
    low, high = result["engine_difference_ms_iqr"]
    print(
        f"{'engine path (ContextEngine, EngineConfig())':<46}"
        f"{result['engine_difference_ms_median']:>12.1f}  [{low:.1f}, {high:.1f}]"
    )
    print(
        f"{'  its contextual_avatar modules':<46}{result['engine_contextual_avatar_modules']:>12}"
    )
    print(
        f"{'  its optional stacks':<46}"
        f"{', '.join(result['engine_heavy_modules_loaded']) or 'none':>12}"
    )
    print(
        f"{'optional stacks loaded':<46}{', '.join(result['heavy_modules_loaded']) or 'none':>12}"
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "import_time.json").write_text(json.dumps(result, indent=2) + "\n")
    plot(result, RESULTS / "import_time.png")
    print(f"wrote {RESULTS / 'import_time.json'} and import_time.png")


if __name__ == "__main__":
    main()
