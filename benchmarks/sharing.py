"""Does shared knowledge earn its place? CoQA replayed with sharing on and off.

Run: ``.venv/bin/python benchmarks/sharing.py`` (a few minutes on 2 cores once the embedding
memo is warm; the first run embeds about 10,000 new texts and can take 20 minutes on a loaded
machine). All 300 CoQA passages are indexed (``../shared/data/coqa-dev.json``, see
``benchmarks/replay.py``); the replayed conversations are held apart from the ones other
benchmarks tune on: the *last* ``--conversations`` stories of the file (default 100), which
the prior's settings were not tuned on. Tune with ``--offset 100`` (the stories before them)
and ``--phases first,later``; ``--sweep '[{...}, ...]'`` runs more settings on one memo.

Three phases run on one engine, in order, once with the knowledge graph on (a fresh SQLite
graph, defaults otherwise) and once with ``knowledge.backend="none"``:

1. **first askers**: each conversation alone in its own session;
2. **later askers**: the same conversations again, interleaved three at a time in new
   sessions (other sessions asked the same questions earlier);
3. **paraphrased askers**: as 2, in new sessions, each question reworded by fixed rules
   (``paraphrase``), so a later session asks what an earlier one asked in other words.

Per phase: context recall (the gold span is inside the context given to the answerer),
answer correctness (the normalised gold answer occurs in the answer; CoQA's yes/no/unknown
answers excluded), mean token F1 against gold, context tokens (context plus question, what
an LLM tier's prompt carries beyond the system prompt), turns given shared chunks, and
latency (total, enrich and the prior's read, mean and p95). Writes
``benchmarks/results/sharing.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import string
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.replay import (  # noqa: E402
    DEFAULT_COQA,
    QA,
    Replay,
    Session,
    Story,
    make_sessions,
)
from contextual_avatar.ingest import count_tokens  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"
PHASES = ("first", "later", "paraphrased")

# Fixed rewording rules (first match wins), then a polite frame: no model, reproducible.
_REWRITES: tuple[tuple[str, str], ...] = (
    (r"^how many\b", "what number of"),
    (r"^how much\b", "what amount"),
    (r"^who\b", "which person"),
    (r"^where\b", "in what place"),
    (r"^when\b", "at what time"),
    (r"^why\b", "for what reason"),
    (r"^what kind of\b", "what sort of"),
    (r"^what\b", "which thing"),
    (r"^did\b", "is it true that"),
    (r"^was\b", "is it the case that it was"),
    (r"^is\b", "would you say it is"),
)
_FRAMES = ("Could you tell me {q}?", "I was wondering, {q}?", "Quick question: {q}?")


def paraphrase(question: str, n: int) -> str:
    """A deterministic rewording of a question (the ``n``-th frame of three)."""
    q = question.strip().rstrip("?").strip()
    low = q[:1].lower() + q[1:]
    for pattern, repl in _REWRITES:
        new = re.sub(pattern, repl, low, count=1, flags=re.IGNORECASE)
        if new != low:
            low = new
            break
    return _FRAMES[n % len(_FRAMES)].format(q=low)


def _normalise(text: str) -> str:
    text = text.lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def correct(answer: str, gold: str) -> bool | None:
    """The normalised gold answer occurs in the answer; ``None`` for yes/no/unknown gold."""
    g = _normalise(gold)
    if not g or g in {"yes", "no", "unknown"}:
        return None
    return g in _normalise(answer)


def token_f1(answer: str, gold: str) -> float:
    a, g = _normalise(answer).split(), _normalise(gold).split()
    common = sum((Counter(a) & Counter(g)).values())
    if not a or not g or not common:
        return 0.0
    p, r = common / len(a), common / len(g)
    return 2 * p * r / (p + r)


def _sessions(stories: Sequence[Story], prefix: str, scenario: str) -> list[Session]:
    found = make_sessions(stories, scenario)  # type: ignore[arg-type]
    return [Session(f"{prefix}-{s.id}", s.steps) for s in found]


async def _phase(
    replay: Replay,
    engine: Any,
    stories: Sequence[Story],
    phase: str,
) -> dict[str, Any]:
    scenario = "single" if phase == "first" else "meeting"
    recall: list[bool] = []
    right: list[bool] = []
    f1: list[float] = []
    tokens: list[int] = []
    total_ms: list[float] = []
    enrich_ms: list[float] = []
    prior_ms: list[float] = []
    shared = 0
    turns = 0
    for session in _sessions(stories, phase, scenario):
        for step, (si, ti) in enumerate(session.steps):
            story = stories[si]
            qa: QA = story.turns[ti]
            question = paraphrase(qa.question, step) if phase == "paraphrased" else qa.question
            answer = await engine.ask(session.id, question)
            rec = replay.record(scenario, session, step, story, qa, answer)  # type: ignore[arg-type]
            turns += 1
            shared += bool(answer.facts)
            if rec.gold_in_context is not None:
                recall.append(bool(rec.gold_in_context))
            ok = correct(answer.text, qa.answer)
            if ok is not None:
                right.append(ok)
                f1.append(token_f1(answer.text, qa.answer))
            tokens.append(
                count_tokens(question) + sum(count_tokens(sc.chunk.text) for sc in answer.context)
            )
            total_ms.append(float(answer.timings.get("total", 0.0)))
            enrich_ms.append(float(answer.timings.get("enrich", 0.0)))
            prior_ms.append(float(answer.timings.get("prior", 0.0)))

    def p95(xs: list[float]) -> float:
        return sorted(xs)[int(0.95 * (len(xs) - 1))] if xs else 0.0

    return {
        "turns": turns,
        "context_recall": sum(recall) / len(recall) if recall else 0.0,
        "answer_correct": sum(right) / len(right) if right else 0.0,
        "answer_f1": statistics.fmean(f1) if f1 else 0.0,
        "scored_turns": len(right),
        "context_tokens_mean": statistics.fmean(tokens) if tokens else 0.0,
        "turns_given_shared_chunks": shared,
        "total_ms_mean": statistics.fmean(total_ms) if total_ms else 0.0,
        "total_ms_p95": p95(total_ms),
        "enrich_ms_mean": statistics.fmean(enrich_ms) if enrich_ms else 0.0,
        "prior_ms_mean": statistics.fmean(prior_ms) if prior_ms else 0.0,
        "prior_ms_p95": p95(prior_ms),
    }


async def _run(
    replay: Replay,
    stories: Sequence[Story],
    sharing: bool,
    work: Path,
    extra: dict[str, Any] | None = None,
    phases: Sequence[str] = PHASES,
) -> dict[str, Any]:
    await asyncio.to_thread(shutil.rmtree, work, True)
    knowledge: dict[str, Any] = (
        {
            "backend": "sqlite",
            "path": work / "kg.sqlite3",
            "outbox_dir": work / "outbox",
            "related_timeout_s": 2.0,
            **(extra or {}),
        }
        if sharing
        else {"backend": "none"}
    )
    out: dict[str, Any] = {}
    async with replay.engine(knowledge=knowledge) as engine:
        for phase in phases:
            t0 = time.perf_counter()
            out[phase] = await _phase(replay, engine, stories, phase)
            out[phase]["seconds"] = round(time.perf_counter() - t0, 1)
            await engine.flush()
            print(f"  sharing={'on ' if sharing else 'off'} {phase:11s} {out[phase]}", flush=True)
    if hasattr(replay.embedder, "save"):
        replay.embedder.save()
    return out


def _load() -> str:
    try:
        return subprocess.run(
            ["uptime"], capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        return os.getloadavg().__repr__()


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    replay = Replay(coqa=args.coqa, passages=None, conversations=None)
    await replay.prepare()
    end = len(replay.stories) - args.offset
    held = replay.stories[end - args.conversations : end]
    phases = tuple(args.phases.split(","))
    work = REPO / "benchmarks" / ".cache" / "sharing"
    if args.warm:  # fill the embedding memo, so neither measured run pays for new texts
        await _run(replay, held, False, work / "warm", phases=phases)
    load_before = _load()
    which = (
        f"the last {len(held)} stories of the file (held apart from tuning)"
        if args.offset == 0
        else f"{len(held)} stories ending {args.offset} before the file's end (tuning split)"
    )
    results: dict[str, Any] = {
        "split": {
            "file": str(args.coqa.name),
            "indexed_passages": len(replay.stories),
            "conversations": [s.id for s in held],
            "which": which,
            "questions": sum(len(s.turns) for s in held),
        },
        "off": await _run(replay, held, False, work / "off", phases=phases),
        "on": await _run(replay, held, True, work / "on", args.knowledge, phases),
        "on_settings": args.knowledge,
    }
    for n, extra in enumerate(args.sweep or []):  # more settings on the same warm memo
        got = await _run(replay, held, True, work / f"sweep{n}", extra, phases)
        results.setdefault("sweep", []).append({"settings": extra, "on": got})
    results |= {
        "load_before": load_before,
        "load_after": _load(),
        "note": "timings are noisy: the 2-core machine is shared; compare on/off ratios",
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / args.out).write_text(json.dumps(results, indent=2))
    print(table(results, phases))
    return results


def table(results: dict[str, Any], phases: Sequence[str] = PHASES) -> str:
    """The on/off table, one row per phase and metric."""
    rows = ["| phase | metric | sharing off | sharing on |", "|---|---|---|---|"]
    metrics = (
        ("context_recall", "{:.3f}"),
        ("answer_correct", "{:.3f}"),
        ("answer_f1", "{:.3f}"),
        ("context_tokens_mean", "{:.0f}"),
        ("turns_given_shared_chunks", "{}"),
        ("total_ms_mean", "{:.1f}"),
        ("total_ms_p95", "{:.1f}"),
        ("enrich_ms_mean", "{:.2f}"),
        ("prior_ms_mean", "{:.2f}"),
        ("prior_ms_p95", "{:.2f}"),
    )
    for phase in phases:
        for key, fmt in metrics:
            off, on = results["off"][phase].get(key, 0), results["on"][phase].get(key, 0)
            rows.append(f"| {phase} | {key} | {fmt.format(off)} | {fmt.format(on)} |")
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--coqa", type=Path, default=DEFAULT_COQA)
    parser.add_argument("--conversations", type=int, default=100)
    parser.add_argument(
        "--knowledge", type=json.loads, default={}, help="KnowledgeConfig overrides (JSON)"
    )
    parser.add_argument("--out", default="sharing.json", help="file name under results/")
    parser.add_argument(
        "--offset", type=int, default=0, help="skip this many stories at the end (tuning split)"
    )
    parser.add_argument("--phases", default=",".join(PHASES), help="comma-separated phases")
    parser.add_argument(
        "--sweep", type=json.loads, default=None, help="JSON list of more settings to run"
    )
    parser.add_argument("--no-warm", dest="warm", action="store_false", help="skip the warm-up")
    asyncio.run(main_async(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
