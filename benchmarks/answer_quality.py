"""How often the offline answerer's answer holds the gold answer (CoQA), before and after.

The offline answerer (``ExtractiveResponder``) quotes context sentences. This measures,
per turn of every CoQA conversation replayed through the engine (one session per
conversation, the engine's defaults):

* **holds gold**: the normalised gold answer is inside the normalised answer (turns whose
  gold is yes/no/unknown are left out: a quote cannot say "yes");
* **recall >= 0.5**: at least half the gold answer's words are in the answer (the success
  rule ``benchmarks/cost_savings.py`` routes by);
* **token F1**, and **gold in context** (the span was given to the answerer: the ceiling).

Stories are split by a fixed rule: the first byte of sha256(story id) even is the
**tuning** half (the answerer's weights were chosen on it), odd the **held-out** half
(never looked at while tuning). Arms: ``baseline``, the answerer as of ``--baseline``
(a git ref; default the commit before issue 19's change, read with ``git show``), and
``current``, the package's. Each arm replays the conversations end to end (its answers
become the history the next turns are understood with). With ``--offline`` both arms
answer the contexts and history one baseline replay recorded instead (fast; for tuning).

The issue's own example is also run when Debian's ``shared-mime-info`` package is
installed: its specification (4 HTML pages as text) is ingested and asked "What is the
default weight of a glob pattern?" (the answer must say 50).

Run: ``.venv/bin/python benchmarks/answer_quality.py`` (about 10 minutes on 2 cores;
``--conversations 60`` for a quick look). Writes ``benchmarks/results/answer_quality.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import html
import json
import pickle
import re
import string
import subprocess
import sys
import tempfile
import time
import types
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
for p in (REPO / "src", REPO):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from benchmarks.replay import DEFAULT_COQA, Replay  # noqa: E402
from contextual_avatar.ingest import count_tokens  # noqa: E402
from contextual_avatar.routing import ExtractiveResponder  # noqa: E402
from contextual_avatar.types import Turn  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"
BASELINE_REF = "3dd05f5"
MODULE = "src/contextual_avatar/routing/_extractive.py"
SPEC = Path("/usr/share/doc/shared-mime-info/shared-mime-info-spec.html")
EXAMPLE_Q = "What is the default weight of a glob pattern?"
NO_SPAN = {"yes", "no", "unknown"}


def half(story_id: str) -> str:
    """``"tuning"`` or ``"held-out"``: a fixed rule on the story id, not on its content."""
    return "tuning" if hashlib.sha256(story_id.encode()).digest()[0] % 2 == 0 else "held-out"


def _norm(text: str) -> list[str]:
    """SQuAD-style: lower case, no punctuation, no articles."""
    text = "".join(ch for ch in text.lower() if ch not in string.punctuation)
    return [w for w in text.split() if w not in {"a", "an", "the"}]


def holds(answer: str, gold: str) -> bool | None:
    """Whether the gold answer's words appear, in order, in the answer; ``None`` for yes/no."""
    g = _norm(gold)
    if not g or " ".join(g) in NO_SPAN:
        return None
    return f" {' '.join(g)} " in f" {' '.join(_norm(answer))} "


def recall(answer: str, gold: str) -> float:
    p, g = _norm(answer), _norm(gold)
    return sum((Counter(p) & Counter(g)).values()) / len(g) if g else 0.0


def f1(answer: str, gold: str) -> float:
    p, g = _norm(answer), _norm(gold)
    common = sum((Counter(p) & Counter(g)).values())
    if not p or not g or not common:
        return float(p == g)
    prec, rec = common / len(p), common / len(g)
    return 2 * prec * rec / (prec + rec)


def baseline_class(ref: str) -> type[Any] | None:
    """The ``ExtractiveResponder`` of git ``ref`` (``None`` when git or the ref is missing)."""
    try:
        source = subprocess.run(
            ["git", "show", f"{ref}:{MODULE}"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"no baseline ({ref}): {exc}", file=sys.stderr)
        return None
    name = f"_answer_quality_baseline_{ref}"
    module = types.ModuleType(name)
    sys.modules[name] = module  # dataclasses look their module up
    exec(compile(source, f"{ref}:{MODULE}", "exec"), module.__dict__)
    cls: type[Any] = module.ExtractiveResponder
    return cls


Make = Callable[[Callable[..., Any]], Any]


def arms(ref: str) -> dict[str, Make]:
    out: dict[str, Make] = {}
    old = baseline_class(ref)
    if old is not None:
        out["baseline"] = lambda embed: old(embed, count_tokens=count_tokens)
    out["current"] = lambda embed: ExtractiveResponder(embed, count_tokens=count_tokens)
    return out


def score(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The figures of one arm on one half."""
    held = [r["holds"] for r in rows if r["holds"] is not None]
    in_ctx = [r["gold_in_context"] for r in rows if r["gold_in_context"] is not None]
    return {
        "turns": len(rows),
        "span_turns": len(held),
        "holds_gold": sum(held) / max(1, len(held)),
        "recall_ge_half": sum(r["recall"] >= 0.5 for r in rows) / max(1, len(rows)),
        "token_f1": sum(r["f1"] for r in rows) / max(1, len(rows)),
        "gold_in_context": sum(in_ctx) / max(1, len(in_ctx)),
    }


def judge(story_id: str, gold: str, text: str, gold_in: bool | None) -> dict[str, Any]:
    return {
        "half": half(story_id),
        "holds": holds(text, gold),
        "recall": recall(text, gold),
        "f1": f1(text, gold),
        "gold_in_context": gold_in,
    }


async def end_to_end(rp: Replay, make: Make) -> tuple[list[dict[str, Any]], list[Any]]:
    """Every turn through an engine whose both tiers are this answerer."""
    responder = make(rp.embedder.embed)
    rows, captured = [], []
    async with rp.engine_with(rp.config(), small=responder, large=responder) as engine:
        for session in rp.sessions("single"):
            await engine.forget(session.id)
        history: dict[str, list[Turn]] = {}
        for session, step, story, qa in rp.steps("single"):
            answer = await engine.ask(session.id, qa.question)
            rec = rp.record("single", session, step, story, qa, answer)
            past = history.setdefault(session.id, [])
            captured.append((story.id, qa.answer, qa.question, answer.context, tuple(past), rec))
            past.append(Turn(qa.question, answer.text))
            rows.append(judge(story.id, qa.answer, answer.text, rec.gold_in_context))
    return rows, captured


async def offline(captured: list[Any], make: Make, embed: Any) -> list[dict[str, Any]]:
    """Answer recorded contexts and histories (one replay's) with this answerer."""
    responder = make(embed)
    rows = []
    for story_id, gold, question, context, history, rec in captured:
        reply = await responder.respond(question, context=context, history=history)
        rows.append(judge(story_id, gold, reply.text, rec.gold_in_context))
    return rows


def spec_pages(folder: Path) -> list[Path]:
    """The shared-mime-info specification's pages as text files (HTML tags dropped)."""
    out = []
    for page in sorted(SPEC.glob("*.html")):
        text = page.read_text(errors="replace")
        text = re.sub(r"(?is)<(script|style).*?</\1>", " ", text)
        text = re.sub(r"(?i)<(p|div|h\d|li|pre|br|tr|dt|dd)\b[^>]*>", "\n", text)
        text = html.unescape(re.sub(r"<[^>]+>", " ", text))
        path = folder / f"{page.stem}.txt"
        path.write_text(re.sub(r"[ \t]+", " ", text), encoding="utf-8")
        out.append(path)
    return out


async def example(make: Make, embedder: Any) -> dict[str, Any] | None:
    """The issue's question on the real specification (the caller checks that it is installed)."""
    from contextual_avatar import AsyncContextEngine, EngineConfig, Parts

    with tempfile.TemporaryDirectory() as tmp:
        responder = make(embedder.embed)
        parts = Parts(embedder=embedder, small=responder, large=responder)
        async with AsyncContextEngine(EngineConfig(data_dir=Path(tmp) / "d"), parts=parts) as e:
            for path in spec_pages(Path(tmp)):
                await e.ingest(path)
            answer = await e.ask("example", EXAMPLE_Q)
    return {
        "question": EXAMPLE_Q,
        "answer": answer.text,
        "says_50": bool(re.search(r"\b50\b", answer.text)),
        "top_chunk_score": round(answer.context[0].score, 3) if answer.context else None,
    }


def parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--coqa", type=Path, default=DEFAULT_COQA)
    ap.add_argument("--conversations", type=int, default=None, help="first N (default all)")
    ap.add_argument("--baseline", default=BASELINE_REF, help="git ref of the baseline answerer")
    ap.add_argument("--offline", action="store_true", help="answer one replay's contexts")
    ap.add_argument("--out", type=Path, default=RESULTS / "answer_quality.json")
    return ap.parse_args(argv)


async def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse(argv)
    t0 = time.perf_counter()
    rp = Replay(coqa=args.coqa, conversations=args.conversations)
    await rp.prepare()
    made = arms(args.baseline)
    rows: dict[str, list[dict[str, Any]]] = {}
    captured: list[Any] | None = None
    memo = rp.root / f"answer_quality-{args.baseline}-{len(rp.conversations)}.pkl"
    if args.offline and memo.exists():
        captured = pickle.loads(memo.read_bytes())  # our own file from an earlier run
    for name, make in made.items():
        if args.offline and captured is not None:
            rows[name] = await offline(captured, make, rp.embedder.embed)
        else:
            rows[name], captured = await end_to_end(rp, make)
            if args.offline:
                memo.write_bytes(pickle.dumps(captured))
        print(f"  {name} done ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    rp.embedder.save()
    figures = {
        name: {h: score([r for r in rs if r["half"] == h]) for h in ("tuning", "held-out")}
        for name, rs in rows.items()
    }
    have_spec = await asyncio.to_thread(SPEC.is_dir)
    examples = {
        name: await example(make, rp.embedder.inner) if have_spec else None
        for name, make in made.items()
    }
    result = {
        "data": str(args.coqa.name),
        "conversations": len(rp.conversations),
        "mode": "offline (one replay's contexts)" if args.offline else "end to end",
        "split": "sha256(story id)[0] even: tuning, odd: held-out",
        "tuned_on": "tuning",
        "baseline": args.baseline,
        "arms": figures,
        "example": examples,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    plot(result, args.out.with_suffix(".png"))
    print_table(result)
    return result


def plot(result: dict[str, Any], out: Path) -> None:
    """Bars: share of answers holding the gold answer, per arm and half."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    halves = ("tuning", "held-out")
    width = 0.8 / max(1, len(result["arms"]))
    for i, (name, figures) in enumerate(result["arms"].items()):
        xs = [j + i * width for j in range(len(halves))]
        ys = [100 * figures[h]["holds_gold"] for h in halves]
        ax.bar(xs, ys, width, label=name)
        for x, y in zip(xs, ys, strict=True):
            ax.text(x, y + 0.5, f"{y:.1f}", ha="center", fontsize=8)
    ax.set_xticks([j + width * (len(result["arms"]) - 1) / 2 for j in range(len(halves))])
    ax.set_xticklabels([f"{h} stories" for h in halves])
    ax.set_ylabel("answers holding the gold answer (%)")
    ax.set_title(f"Offline answerer on CoQA ({result['mode']})")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def print_table(result: dict[str, Any]) -> None:
    print(f"CoQA answers, {result['conversations']} conversations, {result['mode']}")
    print(f"{'arm':10} {'half':9} {'turns':>6} {'holds gold':>10} {'recall>=.5':>10} "
          f"{'F1':>6} {'gold in ctx':>11}")  # fmt: skip
    for name, halves in result["arms"].items():
        for h, f in halves.items():
            print(f"{name:10} {h:9} {f['turns']:6d} {f['holds_gold']:10.1%} "
                  f"{f['recall_ge_half']:10.1%} {f['token_f1']:6.3f} {f['gold_in_context']:11.1%}")  # fmt: skip
    for name, ex in result["example"].items():
        if ex:
            print(f"{name}: {ex['question']} -> {ex['answer']!r} (says 50: {ex['says_50']})")


if __name__ == "__main__":
    asyncio.run(main())
