"""What a turn costs: this library against the RAG chat pipelines users would otherwise deploy.

Arms, on the same documents and the same MiniLM embedder:

* **LangChain default** / **LangChain tutorial**: ``create_history_aware_retriever`` +
  ``create_retrieval_chain`` (4,000- / 1,000-character chunks, k=4, whole history resent,
  a condense call on every turn with history); see :mod:`benchmarks.cost_frameworks`.
* **LlamaIndex default**: ``CondensePlusContextChatEngine`` (1,024-token chunks, top-k 2,
  history up to the context window, a condense call on every turn with history).
* **library, no cache**: the engine with its session cache off (full retrieval each turn).
* **library, cache**: the engine at its defaults (the arm the targets are about).
* **library, cache + routing**: as above, the router sending strong-evidence turns to the
  model's small sibling (calibrated as in :mod:`benchmarks.cost_routing`).

The frameworks' LLM is a recording stand-in (a real subclass of their chat model): every
prompt they send is recorded, condense calls included; a condense call returns the stated
proxy *previous question + its gold answer + this question*; an answer call returns the
turn's completion: the gold answer padded to ``--completion-tokens`` o200k tokens, the same
text in every arm and in every arm's history. Every recorded call is then billed the same
way (:mod:`benchmarks.cost_pricing`): the model's tokenizer, its provider's prompt-cache
rule and prices from litellm's map, for gpt-4o, gpt-4.1, gpt-5-mini and claude-sonnet-4-5.
Context recall is the share of turns whose gold span is covered by the context sent.
Where the library's recall is below a framework's, its budget is raised (context tokens,
top-k, cache capacity) until it matches, and that cost is reported too; the other way
round, so is its smallest budget still recalling as much as every framework arm.

Data: CoQA (``--coqa``) and a long-document set (:mod:`benchmarks.cost_data`).

Run: ``.venv/bin/python benchmarks/cost_savings.py`` (about 8 minutes on 2 shared cores;
``--help``). Writes ``benchmarks/results/cost_savings.{json,png}``. ``--live`` (keys or
``--api-base``; not in CI) runs two real tiers (:mod:`benchmarks.cost_routing`) and the
framework arms live (:mod:`benchmarks.cost_live`) and writes ``cost_savings_live.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
for p in (REPO / "src", REPO):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from benchmarks.cost_data import long_documents  # noqa: E402
from benchmarks.cost_frameworks import (  # noqa: E402
    langchain_arm,
    llamaindex_arm,
    norm_ws,
    versions,
)
from benchmarks.cost_live import live_arms, print_arms  # noqa: E402
from benchmarks.cost_pricing import (  # noqa: E402
    MODELS,
    REASONING_NOTE,
    SMALL_OF,
    ArmRecord,
    Call,
    counter,
    price,
    rules_table,
)
from benchmarks.cost_routing import (  # noqa: E402
    Turned,
    apgr,
    calibrate,
    evidence,
    gold_recall,
    live,
    pgr_curve,
    print_live,
    replay,
    share_for_pgr,
)
from benchmarks.cost_table import (  # noqa: E402
    matched_name,
    plot,
    print_table,
    smallest_name,
    table_rows,
)
from benchmarks.replay import DEFAULT_COQA, Replay, covered  # noqa: E402
from contextual_avatar.routing import DEFAULT_SYSTEM_PROMPT, PromptPacker  # noqa: E402
from contextual_avatar.types import Turn  # noqa: E402

__all__ = ["apgr", "main", "pgr_curve", "share_for_pgr"]

RESULTS = REPO / "benchmarks" / "results"
FILLER = " I hope that helps; tell me if you would like more detail on any part of this."
#: Budgets tried, in order, to bring the library's recall up to a framework's.
LADDER = (500, 800, 1200, 1800, 2600, 4000)
LIB = ("library, no cache", "library, cache", "library, cache + routing")
FRAMEWORKS = ("LangChain default", "LangChain tutorial", "LlamaIndex default")
#: Context budgets tried, largest first, for the smallest one still recalling as much as
#: every framework arm (the library's default stays 500 tokens).
DOWN_LADDER = (400, 300, 200, 100)
#: Retrieval depths tried, in order, to bring a framework's recall up to the library's.
FW_LADDER = {FRAMEWORKS[0]: (6, 8, 12), FRAMEWORKS[2]: (3, 4, 6)}


def completion_text(gold: str, n: int) -> str:
    """The gold answer padded with a fixed filler to exactly ``n`` o200k tokens."""
    import tiktoken

    counter("gpt-4o")  # points tiktoken at the BPE files in litellm's wheel (offline)
    enc = tiktoken.get_encoding("o200k_base")
    text = (gold.strip().rstrip(".") or "I could not find it") + "."
    ids = enc.encode(text + FILLER * (1 + n // 10))
    return enc.decode(ids[:n])


def span_in(story_text: str, start: int, end: int, contexts: list[str]) -> bool:
    """The gold span ``[start, end)`` is covered by context texts found in the story."""
    intervals = []
    for text in contexts:
        at = story_text.find(text.strip())
        if at >= 0:
            intervals.append((at, at + len(text.strip())))
    if covered(start, end, intervals):
        return True
    span = norm_ws(story_text[start:end])
    return any(span in norm_ws(t) for t in contexts)


def library_arm(
    name: str,
    turns: list[Turned],
    completions: list[str],
    *,
    small: list[bool] | None = None,
    append_only: bool = False,
) -> ArmRecord:
    """The engine's turns as the LLM client would send them (one call per turn)."""
    packer = PromptPacker(
        system_prompt=DEFAULT_SYSTEM_PROMPT,
        count_tokens=counter("gpt-4o"),
        budget_tokens=120_000,
        history_turns=4,
        append_only_history=append_only,
    )
    arm = ArmRecord(name, turns=len(turns))
    history: dict[str, list[Turn]] = {}
    for i, t in enumerate(turns):
        hist = history.setdefault(t.session, [])
        packed = packer.pack(t.question, context=list(t.answer.context), history=hist)
        msgs = tuple((m["role"], m["content"]) for m in packed.messages)
        call = Call(msgs, "answer", completions[i], packed.cache_marks, bool(small and small[i]))
        arm.sessions.setdefault(t.session, []).append(call)
        if t.gold_in_context is not None:
            arm.recall.append(t.gold_in_context)
        hist.append(Turn(t.question, completions[i]))
    return arm


def framework_arm(
    name: str, build: Callable[[], tuple[Any, Any]], rp: Replay, completions: list[str]
) -> ArmRecord:
    """Build a framework chain and replay every conversation through it, recording calls."""
    ask, script = build()
    arm = ArmRecord(name)
    history: dict[str, list[tuple[str, str]]] = {}
    for i, (session, _, story, qa) in enumerate(rp.steps("single")):
        hist = history.setdefault(session.id, [])
        prev = story.turns[qa.turn - 2] if qa.turn > 1 else None
        script.condensed = f"{prev.question} {prev.answer} {qa.question}" if prev else qa.question
        script.completion = completions[i]
        before = len(script.calls)
        _, contexts = ask(qa.question, hist)
        calls = arm.sessions.setdefault(session.id, [])
        for call, kind in zip(script.calls[before:], script.kinds[before:], strict=True):
            out = script.condensed if kind == "condense" else script.completion
            calls.append(Call(call, kind, out))
        if qa.span_start >= 0:
            arm.recall.append(span_in(story.text, qa.span_start, qa.span_end, contexts))
        hist.append((qa.question, completions[i]))
        arm.turns += 1
    return arm


def recall_of(arm: ArmRecord) -> float:
    """Share of turns (with a gold span) whose span was in the context sent."""
    return sum(arm.recall) / max(1, len(arm.recall))


def priced(arm: ArmRecord, *, routing: bool = False) -> dict[str, Any]:
    """The arm's recall and, per priced model, its cost figures."""
    return {
        "context_recall": recall_of(arm),
        "turns": arm.turns,
        "models": {m: price(arm, m, small_model=SMALL_OF[m] if routing else None) for m in MODELS},
    }


def budget(ct: int) -> dict[str, Any]:
    """Engine overrides for a context budget of ``ct`` tokens (top-k and capacity follow)."""
    k = max(7, math.ceil(ct / 96) + 2)
    return {"retrieval": {"context_tokens": ct, "top_k": k}, "cache": {"capacity": max(5, k - 2)}}


async def run_dataset(label: str, rp: Replay, args: argparse.Namespace) -> dict[str, Any]:
    """Every arm on one data set, priced on every model."""
    t0 = time.perf_counter()
    await rp.prepare()
    cached = await replay(rp, cache=True)
    full = await replay(rp, cache=False)
    completions = [completion_text(t.gold, args.completion_tokens) for t in cached]
    success = [gold_recall(t.answer.text, t.gold) >= 0.5 for t in cached]
    convs = sorted({t.conversation for t in cached})
    router, cal = calibrate(cached, success, set(convs[::2]))
    small = [router.decide(evidence(t)).tier.value == "small" for t in cached]
    arms: dict[str, ArmRecord] = {
        LIB[0]: library_arm(LIB[0], full, completions),
        LIB[1]: library_arm(LIB[1], cached, completions),
        LIB[2]: library_arm(LIB[2], cached, completions, small=small),
    }
    texts = {s.id: s.text for s in rp.stories}
    embed = rp.embedder.embed
    for name, make in (
        (FRAMEWORKS[0], lambda: langchain_arm(texts, embed, chunk_chars=4000)),
        (FRAMEWORKS[1], lambda: langchain_arm(texts, embed, chunk_chars=1000)),
        (FRAMEWORKS[2], lambda: llamaindex_arm(texts, embed)),
    ):
        # In a worker thread: LlamaIndex's sync chat runs its own event loops.
        arms[name] = await asyncio.to_thread(framework_arm, name, make, rp, completions)
        print(f"  {label}: {name} done ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    if hasattr(rp.embedder, "save"):
        rp.embedder.save()  # the frameworks' chunk vectors, for the next run
    out: dict[str, Any] = {name: priced(arm, routing=name == LIB[2]) for name, arm in arms.items()}
    out[LIB[2]]["router"] = {**cal, "share_small": sum(small) / max(1, len(small))}

    # Layout: does a longer stable prefix (append-only history) pay, per provider?
    append = library_arm("library, cache, append-only history", cached, completions,
                         append_only=True)  # fmt: skip
    layout = {
        m: {
            "sliding_usd": out[LIB[1]]["models"][m]["usd_per_1000_turns"],
            "append_only_usd": price(append, m)["usd_per_1000_turns"],
            "append_only_cached_share": price(append, m)["cached_share_of_prompt"],
        }
        for m in MODELS
    }

    # Matched recall cuts both ways: the smallest budget whose recall still reaches every
    # framework arm's (an extra row; the library's default budget is not changed by it).
    floor = max(out[fw]["context_recall"] for fw in FRAMEWORKS)
    smallest: dict[str, Any] | None = None
    for ct in DOWN_LADDER:
        arm = library_arm(f"library, cache @ {ct}", await replay(
            rp, cache=True, retrieval={"context_tokens": ct}), completions)  # fmt: skip
        print(f"  {label}: budget {ct}: recall {recall_of(arm):.3f}", file=sys.stderr)
        if recall_of(arm) < floor:
            break
        smallest = {"context_tokens": ct, "recall_floor": floor, **priced(arm)}

    # Equal quality: raise the budget of whichever arm recalls less until recall matches.
    matched: dict[str, Any] = {}
    ladder: dict[int, tuple[float, ArmRecord]] = {}
    lib_recall = out[LIB[1]]["context_recall"]
    for fw in (FRAMEWORKS[0], FRAMEWORKS[2]):
        target = out[fw]["context_recall"]
        if lib_recall < target:
            for ct in LADDER[1:]:
                if ct not in ladder:
                    turns = await replay(rp, cache=True, **budget(ct))
                    arm = library_arm(f"library, cache @ {ct}", turns, completions)
                    ladder[ct] = (recall_of(arm), arm)
                    print(f"  {label}: budget {ct}: recall {ladder[ct][0]:.3f}", file=sys.stderr)
                if ladder[ct][0] >= target or ct == LADDER[-1]:
                    matched[fw] = {"raised": "library", "context_tokens": ct,
                                   "reached": ladder[ct][0] >= target,
                                   **priced(ladder[ct][1])}  # fmt: skip
                    break
        elif target < lib_recall:
            for k in FW_LADDER[fw]:
                make = _builder(fw, texts, embed, k)
                arm = await asyncio.to_thread(framework_arm, f"{fw}, k={k}", make, rp, completions)
                print(f"  {label}: {fw} k={k}: recall {recall_of(arm):.3f}", file=sys.stderr)
                if recall_of(arm) >= lib_recall or k == FW_LADDER[fw][-1]:
                    reached = recall_of(arm) >= lib_recall
                    matched[fw] = {"raised": fw, "k": k, "reached": reached, **priced(arm)}
                    break
    if hasattr(rp.embedder, "save"):
        rp.embedder.save()
    savings: dict[str, dict[str, Any]] = {}
    for m in MODELS:
        row: dict[str, Any] = {}
        for fw in (FRAMEWORKS[0], FRAMEWORKS[2]):
            lib_usd = out[LIB[1]]["models"][m]["usd_per_1000_turns"]
            fw_usd = out[fw]["models"][m]["usd_per_1000_turns"]
            row[f"vs {fw}"] = 1 - lib_usd / fw_usd
            if fw in matched:
                mm = matched[fw]
                if mm["raised"] == "library":
                    lib_usd = mm["models"][m]["usd_per_1000_turns"]
                else:
                    fw_usd = mm["models"][m]["usd_per_1000_turns"]
                row[f"vs {matched_name(fw, mm)}"] = 1 - lib_usd / fw_usd
            if smallest is not None:
                small_usd = smallest["models"][m]["usd_per_1000_turns"]
                fw_default = out[fw]["models"][m]["usd_per_1000_turns"]
                row[f"{smallest_name(smallest)} vs {fw}"] = 1 - small_usd / fw_default
        savings[m] = row
    return {
        "data": label,
        "documents": len(rp.stories),
        "conversations": len(rp.conversations),
        "turns": arms[LIB[1]].turns,
        "seconds": time.perf_counter() - t0,
        "arms": out,
        "matched_recall": matched,
        "smallest_budget_at_framework_recall": smallest,
        "saved_by_library_cache": savings,
        "layout": layout,
    }


def _builder(fw: str, texts: dict[str, str], embed: Any, k: int) -> Callable[[], Any]:
    if fw.startswith("LangChain"):
        return lambda: langchain_arm(texts, embed, chunk_chars=4000, k=k)
    return lambda: llamaindex_arm(texts, embed, top_k=k)


def parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--coqa", type=Path, default=DEFAULT_COQA, help="CoQA-format JSON file")
    ap.add_argument("--passages", type=int, default=60, help="CoQA passages indexed")
    ap.add_argument("--conversations", type=int, default=24, help="CoQA conversations replayed")
    ap.add_argument("--long-conversations", type=int, default=12,
                    help="long-document conversations replayed (0: skip the set)")  # fmt: skip
    ap.add_argument("--completion-tokens", type=int, default=40)
    ap.add_argument("--live", action="store_true", help="two real tiers (keys or --api-base)")
    ap.add_argument("--small-model", default="gpt-4o-mini", help="--live: small tier")
    ap.add_argument("--large-model", default="gpt-4o", help="--live: large tier")
    ap.add_argument("--api-base", default=None, help="--live: OpenAI-compatible server")
    ap.add_argument("--live-turns", type=int, default=0, help="--live: held-out turns (0: all)")
    ap.add_argument("--live-max-tokens", type=int, default=64)
    ap.add_argument("--price-as", default="gpt-4o-mini,gpt-4o", help="--live: small,large")
    ap.add_argument("--live-no-stream", action="store_true",
                    help="--live: unstreamed calls (every count the server's own; no TTFT)")  # fmt: skip
    ap.add_argument("--live-context-window", type=int, default=128_000,
                    help="--live: the model's context window (the library packs to it)")  # fmt: skip
    ap.add_argument("--out", type=Path, default=RESULTS, help="where results are written")
    return ap.parse_args(argv)


async def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    command = "python benchmarks/cost_savings.py " + " ".join(argv or sys.argv[1:])
    rp = Replay(coqa=args.coqa, passages=args.passages, conversations=args.conversations)
    if args.live:
        await rp.prepare()
        turns = await replay(rp, cache=True)
        success = [gold_recall(t.answer.text, t.gold) >= 0.5 for t in turns]
        convs = sorted({t.conversation for t in turns})
        router, _ = calibrate(turns, success, set(convs[::2]))
        held = [t for t in turns if t.conversation in set(convs[1::2])]
        result = {"command": command, **await live(args, held, router)}
        print_live(result)
        held = held[: args.live_turns] if args.live_turns else held
        small = [router.decide(evidence(t)).tier.value == "small" for t in held]
        result["frameworks"] = await live_arms(args, rp, held, small)
        result["load_average"] = os.getloadavg()
        print_arms(result["frameworks"])
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "cost_savings_live.json").write_text(json.dumps(result, indent=2))
        return
    datasets = {"coqa": await run_dataset("CoQA", rp, args)}
    if args.long_conversations:
        long_rp = Replay(coqa=long_documents(args.coqa), conversations=args.long_conversations)
        datasets["long"] = await run_dataset("long documents", long_rp, args)
    result: dict[str, Any] = {
        "command": command,
        "load_average": os.getloadavg(),
        "framework_versions": versions(),
        "completion_tokens_per_answer": args.completion_tokens,
        "condense_proxy": "previous question + its gold answer + this question",
        "reasoning_tokens": REASONING_NOTE,
        "prices_and_cache_rules": rules_table(MODELS),
        "datasets": datasets,
    }
    result["table"] = table_rows(result)
    print_table(result)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "cost_savings.json").write_text(json.dumps(result, indent=2, default=float))
    plot(result, args.out)


if __name__ == "__main__":
    asyncio.run(main())
