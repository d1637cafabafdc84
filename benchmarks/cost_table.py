"""Tables and the plot of the cost benchmark (:mod:`benchmarks.cost_savings`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.cost_pricing import MODELS


def matched_name(fw: str, m: dict[str, Any]) -> str:
    """Label of an arm whose budget was raised toward the other arm's recall."""
    how = "recall matched" if m["reached"] else "recall still lower"
    if m["raised"] == "library":
        return f"library, cache, {m['context_tokens']} tok ({how}, vs {fw})"
    return f"{fw}, k={m['k']} ({how})"


def smallest_name(m: dict[str, Any]) -> str:
    """Label of the library at the smallest budget still recalling as much as every framework."""
    return f"library, cache, {m['context_tokens']} tok (smallest at framework recall)"


def extra_arms(ds: dict[str, Any]) -> dict[str, Any]:
    """Every arm of a data set: the defaults, the matched-recall rows, the smallest budget."""
    arms = dict(ds["arms"])
    for fw, m in ds["matched_recall"].items():
        arms[matched_name(fw, m)] = m
    small = ds.get("smallest_budget_at_framework_recall")
    if small:
        arms[smallest_name(small)] = small
    return arms


def table_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One flat row per data set, arm and model (the report renders it as a table)."""
    rows = []
    for ds in result["datasets"].values():
        for name, arm in extra_arms(ds).items():
            for model, p in arm["models"].items():
                rows.append(
                    {
                        "data": ds["data"],
                        "arm": name,
                        "model": model,
                        "usd_per_1000_turns": round(p["usd_per_1000_turns"], 3),
                        "llm_calls_per_turn": round(p["llm_calls_per_turn"], 2),
                        "prompt_tokens_per_turn": round(p["prompt_tokens_per_turn"]),
                        "completion_tokens_per_turn": round(p["completion_tokens_per_turn"], 1),
                        "cached_share": round(p["cached_share_of_prompt"], 3),
                        "context_recall": round(arm["context_recall"], 3),
                        "kind": "modelled (recorded prompts, offline)",
                    }
                )
    return rows


def print_table(result: dict[str, Any]) -> None:
    for ds in result["datasets"].values():
        print(f"\n{ds['data']}: {ds['turns']} turns, {ds['conversations']} conversations, "
              f"{ds['documents']} documents")  # fmt: skip
        print(f"{'arm':34s} {'recall':>6s} {'calls':>5s} {'prompt':>7s} {'cached':>6s} "
              + " ".join(f"{m[:12]:>12s}" for m in MODELS))  # fmt: skip
        for name, a in extra_arms(ds).items():
            g = a["models"]["gpt-4o"]
            print(f"{name[:34]:34s} {a['context_recall']:6.3f} {g['llm_calls_per_turn']:5.2f} "
                  f"{g['prompt_tokens_per_turn']:7.0f} {g['cached_share_of_prompt']:6.1%} "
                  + " ".join(f"{a['models'][m]['usd_per_1000_turns']:12.3f}" for m in MODELS))  # fmt: skip
        for m, row in ds["saved_by_library_cache"].items():
            print(f"  saved on {m}: " + ", ".join(f"{k} {v:.1%}" for k, v in row.items()))
        for m, row in ds["layout"].items():
            print(f"  layout on {m}: sliding {row['sliding_usd']:.3f}, append-only "
                  f"{row['append_only_usd']:.3f} USD/1k (cached {row['append_only_cached_share']:.1%})")  # fmt: skip


def plot(result: dict[str, Any], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sets = list(result["datasets"].values())
    fig, axes = plt.subplots(1, len(sets), figsize=(6 * len(sets), 4.5), squeeze=False)
    for ax, ds in zip(axes[0], sets, strict=True):
        names = list(ds["arms"])
        width = 0.8 / len(MODELS)
        for j, m in enumerate(MODELS):
            ax.bar([i + j * width for i in range(len(names))],
                   [ds["arms"][n]["models"][m]["usd_per_1000_turns"] for n in names],
                   width, label=m)  # fmt: skip
        ax.set_xticks([i + 0.4 - width / 2 for i in range(len(names))])
        ax.set_xticklabels(names, rotation=25, ha="right", fontsize=8)
        ax.set_ylabel("USD per 1,000 turns")
        ax.set_title(f"{ds['data']} ({ds['turns']} turns)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "cost_savings.png", dpi=110)
