"""Cost of a conversation turn: baseline vs session cache vs routing vs both, priced by litellm.

Replays CoQA conversations (``benchmarks/replay.py``) through the engine twice: with the
session cache and with it disabled (full retrieval every turn). Every turn's prompt is
packed exactly as the LLM client packs it (:class:`PromptPacker`, gpt-4o's o200k
tokenizer, system prompt + numbered sources + recent turns + question) and priced with
litellm's offline price map: small tier ``gpt-4o-mini``, large tier ``gpt-4o``, cached
prompt prefixes at the cached-input price when the prefix repeats and is >= 1,024 tokens.

Arms: **baseline** (large model, full retrieval every turn), **cache only** (large model,
session-cache context), **routing only** (full retrieval, router picks the tier),
**cache + routing**.

No large model runs here, so quality is measured where it can be: a real small tier
answers every turn and is scored against CoQA gold with token F1. A turn is a small-tier
*success* when the answer contains at least half of the gold answer's tokens (gold
recall >= 0.5). The router is judged as a predictor of that success: its threshold is
calibrated for precision >= 0.90 on half of the conversations and evaluated on the other
half. Savings at that threshold count every large-tier turn at gpt-4o's full price and
ASSUME THE LARGE MODEL ANSWERS THOSE TURNS CORRECTLY. Completion length is fixed
(``--completion-tokens``) for every arm, so only prompts and prices differ.

``--live`` runs both real tiers instead (any litellm models: with provider keys in the
environment, or an OpenAI-compatible ``--api-base``), scores both against gold with token
F1 and reports RouteLLM's APGR (average performance gap recovered over strong-model shares
0-100%), the strong-model share needed to recover 50% / 80% of the gap, and the saving at
95% of the large tier's quality. Tokens are the models' own; USD uses ``--price-as``
models from litellm's map. It writes ``cost_savings_live.json`` and is not part of CI.

Also measured: time to first token of the local SmolLM2-135M (llama.cpp server) against
prompt size, cold and with the prompt prefix reused, which is what small cached prompts buy.

Run: ``.venv/bin/python benchmarks/cost_savings.py`` (``--help`` for sizes). Writes
``benchmarks/results/cost_savings.{json,png}``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import re
import string
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
for p in (REPO / "src", REPO):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from benchmarks.replay import DEFAULT_COQA, Replay  # noqa: E402
from contextual_avatar.routing import (  # noqa: E402
    DEFAULT_SYSTEM_PROMPT,
    EvidenceRouter,
    LiteLLMResponder,
    LLMConfig,
    PromptPacker,
    RouteEvidence,
    RoutingConfig,
    threshold_for_precision,
)
from contextual_avatar.routing._litellm import model_prices, token_counter  # noqa: E402
from contextual_avatar.testing import LLMServer  # noqa: E402
from contextual_avatar.types import Answer, Turn  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"
SMALL, LARGE = "gpt-4o-mini", "gpt-4o"
TARGET_PRECISION = 0.90
CACHE_MIN = 1024


# -- scoring -------------------------------------------------------------------------------


def _norm(text: str) -> list[str]:
    text = text.lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return text.split()


def f1(pred: str, gold: str) -> float:
    p, g = _norm(pred), _norm(gold)
    if not p or not g:
        return float(p == g)
    common = sum((Counter(p) & Counter(g)).values())
    if common == 0:
        return 0.0
    prec, rec = common / len(p), common / len(g)
    return 2 * prec * rec / (prec + rec)


def gold_recall(pred: str, gold: str) -> float:
    p, g = _norm(pred), _norm(gold)
    if not g:
        return 0.0
    return sum((Counter(p) & Counter(g)).values()) / len(g)


# -- replay --------------------------------------------------------------------------------


@dataclass
class Turned:
    session: str
    conversation: str
    question: str
    gold: str
    answer: Answer
    gold_in_context: bool | None


async def replay(rp: Replay, *, cache: bool) -> list[Turned]:
    out: list[Turned] = []
    cfg: dict[str, Any] = {} if cache else {"cache": {"enabled": False}}
    async with rp.engine(**cfg) as engine:
        for session in rp.sessions("single"):
            await engine.forget(session.id)
        for session, step, story, qa in rp.steps("single"):
            answer = await engine.ask(session.id, qa.question)
            rec = rp.record("single", session, step, story, qa, answer)
            out.append(
                Turned(session.id, story.id, qa.question, qa.answer, answer, rec.gold_in_context)
            )
    return out


# -- pricing -------------------------------------------------------------------------------


def price_arm(
    turns: list[Turned], small_mask: list[bool], packer: PromptPacker, completion: int
) -> dict[str, float]:
    """USD and prompt tokens for the turns, tier per mask, cached prefix discount."""
    small, large = model_prices(SMALL), model_prices(LARGE)
    usd = 0.0
    prompt_total = 0
    cached_total = 0
    last_prefix: dict[str, str] = {}
    history: dict[str, list[Turn]] = {}
    for t, is_small in zip(turns, small_mask, strict=True):
        hist = history.setdefault(t.session, [])
        packed = packer.pack(t.question, context=list(t.answer.context), history=hist)
        reuse = last_prefix.get(t.session) == packed.prefix_key
        cached = packed.prefix_tokens if reuse and packed.prefix_tokens >= CACHE_MIN else 0
        last_prefix[t.session] = packed.prefix_key
        prices = small if is_small else large
        usd += prices.cost(packed.prompt_tokens, completion, cached)
        prompt_total += packed.prompt_tokens
        cached_total += cached
        hist.append(Turn(t.question, t.gold))
    n = len(turns)
    return {
        "usd_per_1000_turns": 1000 * usd / n,
        "prompt_tokens_per_turn": prompt_total / n,
        "cached_share_of_prompt": cached_total / max(1, prompt_total),
        "share_small": sum(small_mask) / n,
    }


def evidence(t: Turned) -> RouteEvidence:
    return RouteEvidence.of(list(t.answer.context), cache_hit=t.answer.cache_hit)


def calibrate(
    turns: list[Turned], success: list[bool], calib: set[str]
) -> tuple[EvidenceRouter, dict[str, Any]]:
    """Pick weights and threshold on the calibration conversations (precision >= target)."""
    best: tuple[float, EvidenceRouter] | None = None
    idx = [i for i, t in enumerate(turns) if t.conversation in calib]
    for mw in (0.0, 0.5, 1.0):
        for hb in (0.0, 0.05):
            r = EvidenceRouter(
                threshold=0,
                small_model=SMALL,
                large_model=LARGE,
                margin_weight=mw,
                cache_hit_bonus=hb,
            )
            scores = [r.evidence_score(evidence(turns[i])) for i in idx]
            ok = [success[i] for i in idx]
            th = threshold_for_precision(scores, ok, precision=TARGET_PRECISION, min_small=5)
            share = sum(s >= th for s in scores) / max(1, len(scores))
            if best is None or share > best[0]:
                best = (
                    share,
                    EvidenceRouter(
                        threshold=th,
                        small_model=SMALL,
                        large_model=LARGE,
                        margin_weight=mw,
                        cache_hit_bonus=hb,
                    ),
                )
    assert best is not None
    r = best[1]
    return r, {
        "threshold": r.threshold,
        "margin_weight": r.margin_weight,
        "cache_hit_bonus": r.cache_hit_bonus,
        "calibration_share_small": best[0],
    }


def judge(
    turns: list[Turned], success: list[bool], router: EvidenceRouter, held: set[str]
) -> dict[str, float]:
    idx = [i for i, t in enumerate(turns) if t.conversation in held]
    small = [i for i in idx if router.decide(evidence(turns[i])).tier.value == "small"]
    good = sum(success[i] for i in small)
    return {
        "turns": len(idx),
        "routed_small": len(small),
        "precision_routed_small": good / len(small) if small else float("nan"),
        "small_success_rate_all_turns": sum(success[i] for i in idx) / max(1, len(idx)),
    }


# -- live: both real tiers ---------------------------------------------------------------


def large_first(scores: list[float]) -> list[int]:
    """Turn indices in the order the router sends them large: least evidence first."""
    return sorted(range(len(scores)), key=lambda i: scores[i])


def routed_sum(order: list[int], n_large: int, small: list[float], large: list[float]) -> float:
    """Sum of per-turn values when the first ``n_large`` turns of ``order`` go large."""
    to_large = set(order[:n_large])
    return sum(large[i] if i in to_large else small[i] for i in range(len(small)))


def pgr_curve(
    scores: list[float], weak: list[float], strong: list[float], *, steps: int = 20
) -> list[tuple[float, float | None]]:
    """(strong share, performance gap recovered) as the router sends more turns large.

    The router's order is its evidence: the turns with the least evidence go to the large
    tier first. PGR is ``(perf - perf_weak) / (perf_strong - perf_weak)``; ``None`` when
    the two tiers perform the same (there is no gap to recover).
    """
    n = len(scores)
    order = large_first(scores)
    gap = (sum(strong) - sum(weak)) / max(1, n)
    curve: list[tuple[float, float | None]] = []
    for k in range(steps + 1):
        share = k / steps
        n_large = math.floor(share * n + 1e-9)  # never more large turns than the share
        perf = routed_sum(order, n_large, weak, strong) / max(1, n)
        pgr = None if abs(gap) < 1e-12 else (perf - sum(weak) / max(1, n)) / gap
        curve.append((share, pgr))
    return curve


def apgr(curve: list[tuple[float, float | None]]) -> float | None:
    """Area under the PGR curve over strong shares 0-1 (trapezoids); ``None`` without a gap."""
    if any(p is None for _, p in curve):
        return None
    pts = [(x, float(p)) for x, p in curve if p is not None]
    return sum((x1 - x0) * (p0 + p1) / 2 for (x0, p0), (x1, p1) in itertools.pairwise(pts))


def share_for_pgr(curve: list[tuple[float, float | None]], target: float) -> float | None:
    """Smallest strong-model share whose PGR reaches ``target`` (RouteLLM's CPT)."""
    return next((x for x, p in curve if p is not None and p >= target), None)


async def tier_replies(
    model: str, api_base: str | None, turns: list[Turned], max_tokens: int
) -> list[Any]:
    """Every turn answered by one real model through the library's litellm client."""
    cfg = LLMConfig(
        model=model,
        api_base=api_base,
        max_output_tokens=max_tokens,
        # Prices do not matter here (USD comes from --price-as); registering zero keeps
        # litellm from failing on a model its map lacks.
        input_usd_per_mtok=0,
        output_usd_per_mtok=0,
    )
    responder = LiteLLMResponder(
        cfg, routing=RoutingConfig(timeout_s=300, first_token_timeout_s=300)
    )
    out: list[Any] = []
    history: dict[str, list[Turn]] = {}
    for i, t in enumerate(turns):
        hist = history.setdefault(t.session, [])
        out.append(
            await responder.respond(t.question, context=list(t.answer.context), history=hist)
        )
        hist.append(Turn(t.question, t.gold))
        print(f"  {model}: {i + 1}/{len(turns)}", file=sys.stderr, end="\r")
    print(file=sys.stderr)
    return out


async def live(
    args: argparse.Namespace, turns: list[Turned], router: EvidenceRouter
) -> dict[str, Any]:
    """Both tiers answer the same turns; the router's evidence order is judged by APGR."""
    turns = turns[: args.live_turns] if args.live_turns else turns
    small_replies = await tier_replies(args.small_model, args.api_base, turns, args.live_max_tokens)
    large_replies = await tier_replies(args.large_model, args.api_base, turns, args.live_max_tokens)
    weak = [f1(r.text, t.gold) for r, t in zip(small_replies, turns, strict=True)]
    strong = [f1(r.text, t.gold) for r, t in zip(large_replies, turns, strict=True)]
    scores = [router.evidence_score(evidence(t)) for t in turns]
    curve = pgr_curve(scores, weak, strong)
    price_small, price_large = (model_prices(m) for m in args.price_as.split(","))

    def usd(replies: list[Any], prices: Any) -> list[float]:
        return [prices.cost(r.tokens.prompt, r.tokens.completion, 0) for r in replies]

    cost_small, cost_large = usd(small_replies, price_small), usd(large_replies, price_large)
    n = len(turns)
    perf_strong = sum(strong) / max(1, n)
    order = large_first(scores)
    at_95: dict[str, float] | None = None
    for k in range(n + 1):
        perf = routed_sum(order, k, weak, strong) / max(1, n)
        if perf >= 0.95 * perf_strong:
            cost = routed_sum(order, k, cost_small, cost_large)
            at_95 = {
                "strong_share": k / max(1, n),
                "quality_vs_large": perf / perf_strong if perf_strong else 1.0,
                "saved_vs_always_large": 1 - cost / max(1e-12, sum(cost_large)),
            }
            break
    return {
        "turns": n,
        "small_model": args.small_model,
        "large_model": args.large_model,
        "priced_as": args.price_as,
        "small_f1": sum(weak) / max(1, n),
        "large_f1": perf_strong,
        "apgr": apgr(curve),
        "strong_share_for_pgr_50": share_for_pgr(curve, 0.5),
        "strong_share_for_pgr_80": share_for_pgr(curve, 0.8),
        "at_95_percent_of_large": at_95,
        "pgr_curve": curve,
        "prompt_tokens_per_turn": sum(r.tokens.prompt for r in large_replies) / max(1, n),
        "examples": [
            {"q": t.question, "gold": t.gold, "small": a.text, "large": b.text}
            for t, a, b in list(zip(turns, small_replies, large_replies, strict=True))[:5]
        ],
    }


# -- local model -----------------------------------------------------------------------------


async def local_answers(
    server: LLMServer, turns: list[Turned], limit: int, max_tokens: int
) -> list[tuple[int, str]]:
    cfg = LLMConfig(
        model=server.model,
        api_base=server.api_base,
        context_window=server.n_ctx,
        max_output_tokens=max_tokens,
        input_usd_per_mtok=0,
        output_usd_per_mtok=0,
    )
    responder = LiteLLMResponder(
        cfg, routing=RoutingConfig(timeout_s=300, first_token_timeout_s=300)
    )
    step = max(1, len(turns) // limit)
    out: list[tuple[int, str]] = []
    history: dict[str, list[Turn]] = {}
    for i, t in enumerate(turns):
        hist = history.setdefault(t.session, [])
        if i % step == 0 and len(out) < limit:
            reply = await responder.respond(
                t.question, context=list(t.answer.context), history=hist
            )
            out.append((i, reply.text))
        hist.append(Turn(t.question, t.gold))
    return out


async def ttft(server: LLMServer, sizes: list[int], reps: int) -> list[dict[str, float]]:
    import litellm  # imported by the responder already; offline map

    filler = (
        "The harbour tour starts at the old pier and passes the lighthouse, the fish market "
        "and the shipyard, where guides explain how the town grew around its port. "
    )
    count = token_counter(server.model)
    rows = []
    for size in sizes:
        base = filler * max(1, size // max(1, count(filler)))
        for kind in ("cold", "warm_prefix"):
            times = []
            for r in range(reps):
                # Cold: a unique first line defeats prefix reuse; warm: same prefix, new question.
                head = f"Session {time.time_ns()}-{r}.\n" if kind == "cold" else "Session fixed.\n"
                messages = [
                    {"role": "system", "content": head + base},
                    {"role": "user", "content": f"Question {r}: where does the tour start?"},
                ]
                if kind == "warm_prefix" and r == 0:
                    await _first_token(litellm, server, messages)  # prime the KV cache
                times.append(await _first_token(litellm, server, messages))
            rows.append(
                {
                    "prompt_tokens": count(head + base) + 12,
                    "kind": kind,
                    "ttft_s_median": sorted(times)[len(times) // 2],
                }
            )
            print(
                f"  ttft {kind:12s} {rows[-1]['prompt_tokens']:5d} tok: {rows[-1]['ttft_s_median']:.2f} s",
                file=sys.stderr,
            )
    return rows


async def _first_token(litellm: Any, server: LLMServer, messages: list[dict[str, str]]) -> float:
    t0 = time.perf_counter()
    resp = await litellm.acompletion(
        model=server.model,
        messages=messages,
        api_base=server.api_base,
        api_key="x",
        stream=True,
        max_tokens=4,
    )
    try:
        async for _ in resp:
            break
        return time.perf_counter() - t0
    finally:
        await resp.aclose()


# -- main ----------------------------------------------------------------------------------


async def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--coqa", type=Path, default=DEFAULT_COQA, help="CoQA-format JSON file")
    ap.add_argument("--passages", type=int, default=60)
    ap.add_argument("--conversations", type=int, default=30)
    ap.add_argument("--completion-tokens", type=int, default=40)
    ap.add_argument("--local-turns", type=int, default=40, help="turns the local SmolLM2 answers")
    ap.add_argument("--local-max-tokens", type=int, default=32)
    ap.add_argument("--ttft-sizes", default="100,300,600,1200")
    ap.add_argument("--ttft-reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2, help="llama.cpp threads")
    ap.add_argument("--no-local", action="store_true", help="skip the local model")
    ap.add_argument(
        "--live",
        action="store_true",
        help="run both real tiers (needs keys or --api-base; not in CI)",
    )
    ap.add_argument("--small-model", default=SMALL, help="--live: litellm name of the small tier")
    ap.add_argument("--large-model", default=LARGE, help="--live: litellm name of the large tier")
    ap.add_argument("--api-base", default=None, help="--live: OpenAI-compatible server for both")
    ap.add_argument("--live-turns", type=int, default=0, help="--live: held-out turns (0: all)")
    ap.add_argument("--live-max-tokens", type=int, default=64)
    ap.add_argument(
        "--price-as",
        default=f"{SMALL},{LARGE}",
        help="--live: litellm price-map models, small,large",
    )
    ap.add_argument("--out", type=Path, default=RESULTS, help="where results are written")
    args = ap.parse_args(argv)

    rp = Replay(coqa=args.coqa, passages=args.passages, conversations=args.conversations)
    await rp.prepare()
    t0 = time.perf_counter()
    cached = await replay(rp, cache=True)
    full = await replay(rp, cache=False)
    print(
        f"  replayed {len(cached)} turns twice in {time.perf_counter() - t0:.0f} s", file=sys.stderr
    )
    assert [t.question for t in cached] == [t.question for t in full]

    count = token_counter(LARGE)
    packer = PromptPacker(
        system_prompt=DEFAULT_SYSTEM_PROMPT,
        count_tokens=count,
        budget_tokens=120_000,
        history_turns=4,
    )

    # Small-tier quality: the extractive answerer on every turn, in both context settings.
    ext_f1 = [f1(t.answer.text, t.gold) for t in cached]
    success_cached = [gold_recall(t.answer.text, t.gold) >= 0.5 for t in cached]
    success_full = [gold_recall(t.answer.text, t.gold) >= 0.5 for t in full]

    convs = sorted({t.conversation for t in cached})
    calib, held = set(convs[::2]), set(convs[1::2])
    router_c, cal_c = calibrate(cached, success_cached, calib)
    router_f, cal_f = calibrate(full, success_full, calib)
    held_c = judge(cached, success_cached, router_c, held)
    held_f = judge(full, success_full, router_f, held)

    if args.live:
        held_turns = [t for t in cached if t.conversation in held]
        live_result = {
            "command": "python benchmarks/cost_savings.py " + " ".join(argv or sys.argv[1:]),
            **await live(args, held_turns, router_c),
        }
        print_live(live_result)
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "cost_savings_live.json").write_text(json.dumps(live_result, indent=2))
        return

    def mask(turns: list[Turned], router: EvidenceRouter | None) -> list[bool]:
        if router is None:
            return [False] * len(turns)
        return [router.decide(evidence(t)).tier.value == "small" for t in turns]

    def only(turns: list[Turned]) -> list[Turned]:
        return [t for t in turns if t.conversation in held]

    def recall(turns: list[Turned]) -> float:
        xs = [t.gold_in_context for t in turns if t.gold_in_context is not None]
        return sum(xs) / max(1, len(xs))

    arms: dict[str, dict[str, float]] = {}
    for name, turns, router in (
        ("baseline", full, None),
        ("cache only", cached, None),
        ("routing only", full, router_f),
        ("cache + routing", cached, router_c),
    ):
        ht = only(turns)
        arms[name] = price_arm(ht, mask(ht, router), packer, args.completion_tokens)
        arms[name]["context_recall"] = recall(ht)
    base = arms["baseline"]["usd_per_1000_turns"]
    for a in arms.values():
        a["saved_vs_baseline"] = 1 - a["usd_per_1000_turns"] / base

    result: dict[str, Any] = {
        "command": "python benchmarks/cost_savings.py " + " ".join(argv or sys.argv[1:]),
        "turns_total": len(cached),
        "turns_held_out": arms and len(only(cached)),
        "prices_usd_per_mtok": {
            m: {
                "input": model_prices(m).input * 1e6,
                "cached_input": model_prices(m).cached_input * 1e6,
                "output": model_prices(m).output * 1e6,
            }
            for m in (SMALL, LARGE)
        },
        "completion_tokens_per_turn": args.completion_tokens,
        "arms": arms,
        "small_tier_extractive": {
            "token_f1_mean": sum(ext_f1) / len(ext_f1),
            "success_rate_cached_context": sum(success_cached) / len(success_cached),
            "success_rate_full_context": sum(success_full) / len(success_full),
        },
        "router": {
            "target_precision": TARGET_PRECISION,
            "cache_context": {**cal_c, **held_c},
            "full_context": {**cal_f, **held_f},
        },
        "assumption": "large-tier turns are assumed answered correctly; no large model ran",
    }

    if not args.no_local:
        with LLMServer(threads=args.threads, n_ctx=2048) as server:
            picks = await local_answers(server, cached, args.local_turns, args.local_max_tokens)
            lf1 = [f1(text, cached[i].gold) for i, text in picks]
            lok = [gold_recall(text, cached[i].gold) >= 0.5 for i, text in picks]
            routed = [router_c.decide(evidence(cached[i])).tier.value == "small" for i, _ in picks]
            small_ok = [ok for ok, r in zip(lok, routed, strict=True) if r]
            result["small_tier_smollm2"] = {
                "turns": len(picks),
                "token_f1_mean": sum(lf1) / max(1, len(lf1)),
                "success_rate": sum(lok) / max(1, len(lok)),
                "precision_routed_small_with_extractive_threshold": (
                    sum(small_ok) / len(small_ok) if small_ok else float("nan")
                ),
                "examples": [
                    {"q": cached[i].question, "gold": cached[i].gold, "smollm2": text}
                    for i, text in picks[:5]
                ],
            }
            sizes = [int(s) for s in args.ttft_sizes.split(",")]
            result["ttft_local"] = await ttft(server, sizes, args.ttft_reps)

    print_table(result)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "cost_savings.json").write_text(json.dumps(result, indent=2, default=float))
    plot(result, args.out)


def print_live(r: dict[str, Any]) -> None:
    def pct(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.0%}"

    print(
        f"\nlive: {r['turns']} held-out turns, small={r['small_model']}, large={r['large_model']}"
    )
    print(f"token F1: small {r['small_f1']:.3f}, large {r['large_f1']:.3f}")
    apgr_text = "n/a (no gap between the tiers)" if r["apgr"] is None else f"{r['apgr']:.3f}"
    print(f"APGR {apgr_text}; strong share for 50% / 80% of the gap: "
          f"{pct(r['strong_share_for_pgr_50'])} / {pct(r['strong_share_for_pgr_80'])}")  # fmt: skip
    at = r["at_95_percent_of_large"]
    if at:
        print(f"at 95% of the large tier's F1: {at['strong_share']:.0%} of turns large, "
              f"{at['saved_vs_always_large']:.1%} saved vs always large (priced as {r['priced_as']})")  # fmt: skip


def print_table(r: dict[str, Any]) -> None:
    print(
        f"\nCoQA, {r['turns_held_out']} held-out turns (of {r['turns_total']}); "
        f"small={SMALL}, large={LARGE}; {r['completion_tokens_per_turn']} completion tokens/turn"
    )
    print(
        f"{'arm':18s} {'USD/1k turns':>13s} {'prompt tok/turn':>16s} {'cached':>7s} {'small':>6s} {'recall':>7s} {'saved':>7s}"
    )
    for name, a in r["arms"].items():
        print(
            f"{name:18s} {a['usd_per_1000_turns']:13.3f} {a['prompt_tokens_per_turn']:16.0f} "
            f"{a['cached_share_of_prompt']:7.1%} {a['share_small']:6.1%} {a['context_recall']:7.1%} "
            f"{a['saved_vs_baseline']:7.1%}"
        )
    for ctx, v in r["router"].items():
        if not isinstance(v, dict):
            continue
        print(
            f"router ({ctx}): threshold {v['threshold']:.3f} (margin w {v['margin_weight']}, hit bonus "
            f"{v['cache_hit_bonus']}); held-out precision of routed-small "
            f"{v['precision_routed_small']:.3f} on {v['routed_small']}/{v['turns']} turns "
            f"(small tier succeeds on {v['small_success_rate_all_turns']:.1%} of all turns)"
        )
    e = r["small_tier_extractive"]
    print(
        f"extractive small tier: token F1 {e['token_f1_mean']:.3f}, success {e['success_rate_cached_context']:.1%}"
    )
    if "small_tier_smollm2" in r:
        s = r["small_tier_smollm2"]
        print(
            f"SmolLM2-135M small tier ({s['turns']} turns): token F1 {s['token_f1_mean']:.3f}, "
            f"success {s['success_rate']:.1%}, precision when routed small "
            f"{s['precision_routed_small_with_extractive_threshold']:.3f}"
        )
        for row in r["ttft_local"]:
            print(
                f"  TTFT {row['kind']:12s} {row['prompt_tokens']:5d} prompt tokens: {row['ttft_s_median']:.2f} s"
            )
    print(f"NOTE: {r['assumption']}")


def plot(r: dict[str, Any], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    names = list(r["arms"])
    axes[0].bar(
        names,
        [r["arms"][n]["usd_per_1000_turns"] for n in names],
        color=["#888", "#4a8", "#48c", "#2a6"],
    )
    axes[0].set_ylabel("USD per 1,000 turns")
    axes[0].set_title("Cost per 1,000 CoQA turns (gpt-4o-mini / gpt-4o)")
    axes[0].tick_params(axis="x", rotation=15)
    if "ttft_local" in r:
        for kind, style in (("cold", "o-"), ("warm_prefix", "s--")):
            rows = [x for x in r["ttft_local"] if x["kind"] == kind]
            axes[1].plot(
                [x["prompt_tokens"] for x in rows],
                [x["ttft_s_median"] for x in rows],
                style,
                label=kind,
            )
        axes[1].set_xlabel("prompt tokens")
        axes[1].set_ylabel("time to first token (s)")
        axes[1].set_title("SmolLM2-135M, llama.cpp, this machine")
        axes[1].legend()
    fig.tight_layout()
    fig.savefig(out / "cost_savings.png", dpi=110)


if __name__ == "__main__":
    asyncio.run(main())
