"""Routing and live mode of the cost benchmark: router calibration, RouteLLM's APGR, real tiers.

Moved out of ``cost_savings.py`` (one idea per module). The router is judged as a
predictor of small-tier success (the extractive answerer recalls at least half of the
gold answer's tokens): weights and threshold are calibrated for precision >= 0.90 on half
of the conversations and judged on the other half. ``--live`` runs two real tiers on the
held-out turns and reports APGR (average performance gap recovered over strong-model
shares 0-100%), the shares that recover 50% / 80% of the gap, and the saving at 95% of the
large tier's F1. The local SmolLM2 measurements (answers, time to first token cold and
with the prefix reused) live here too.
"""

from __future__ import annotations

import argparse
import itertools
import math
import re
import string
import sys
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from benchmarks.replay import Replay
from contextual_avatar.errors import ConfigError
from contextual_avatar.routing import (
    EvidenceRouter,
    LiteLLMResponder,
    LLMConfig,
    RouteEvidence,
    RoutingConfig,
    threshold_for_precision,
)
from contextual_avatar.routing._litellm import model_prices, token_counter
from contextual_avatar.testing import LLMServer
from contextual_avatar.types import Answer, Turn

SMALL, LARGE = "gpt-4o-mini", "gpt-4o"
TARGET_PRECISION = 0.90


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


async def replay(rp: Replay, *, cache: bool, **overrides: Any) -> list[Turned]:
    """Every turn of the single-conversation scenario through the engine."""
    out: list[Turned] = []
    cfg: dict[str, Any] = dict(overrides)
    if not cache:
        cfg["cache"] = {**cfg.get("cache", {}), "enabled": False}
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


def unpriced(model: str) -> float | None:
    """0 for a model litellm's map lacks, ``None`` for a known one: registering zero keeps
    litellm from failing on an unknown model, and would zero a known one's map prices
    (which ``--price-as`` reads)."""
    try:
        model_prices(model)
    except ConfigError:
        return 0.0
    return None


async def tier_replies(
    model: str, api_base: str | None, turns: list[Turned], max_tokens: int
) -> list[Any]:
    """Every turn answered by one real model through the library's litellm client."""
    free = unpriced(model)
    cfg = LLMConfig(
        model=model,
        api_base=api_base,
        max_output_tokens=max_tokens,
        input_usd_per_mtok=free,
        output_usd_per_mtok=free,
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
