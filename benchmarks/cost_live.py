"""``--live`` for the framework arms: LangChain and LlamaIndex against a real endpoint.

The offline table prices prompts the frameworks really build, answered by a stand-in. This
module runs the same chains with the frameworks' own LLM clients against one
OpenAI-compatible endpoint (OpenAI with ``OPENAI_API_KEY``, or ``--api-base``), next to
the library, and reports per arm what the provider said: prompt, completion and cached
tokens from each response's ``usage`` (condense calls included), answer token F1 against
CoQA gold, time to first answer token, and USD per 1,000 turns at litellm's list prices.

The frameworks' chains and clients are in :mod:`benchmarks.cost_live_frameworks`; the
library's arm packs the replayed turn's context with the library's packer and sends it as
its client does (litellm, temperature 0, usage asked for in streams). Every arm keeps its
own live answers as history.

Time to first token counts from the start of the turn: the frameworks' condense call and
retrieval are part of it; for the library, the replayed turn's stages before ``answer``
(embed, cache, search, assemble) are added to the measured first token of its one call.

Servers that send no usage in streams (llama-cpp-python) leave streamed calls without the
server's counts: LangChain then reports none (that arm's USD is left out), and litellm
(LlamaIndex's client and the library's) computes its own. ``--live-no-stream`` sends every
call unstreamed, so every count is the server's own and ``ttft_s`` is the whole call's
latency. OpenAI sends usage in streams, so with it the streamed counts are OpenAI's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from benchmarks.cost_live_frameworks import Ask, Usage, langchain_live, llamaindex_live
from benchmarks.cost_routing import Turned, f1
from benchmarks.replay import Replay
from contextual_avatar.routing import DEFAULT_SYSTEM_PROMPT, PromptPacker
from contextual_avatar.routing._litellm import (
    import_litellm,
    model_prices,
    read_usage,
    sampling_options,
)
from contextual_avatar.types import Turn

__all__ = ["LiveArm", "framework_live", "library_live", "summarise"]

_PRE_ANSWER_STAGES = ("understand", "recall", "enrich", "assemble", "route")


@dataclass
class LiveArm:
    """Per turn: the answer, the calls' usages, time to first answer token."""

    name: str
    model: str
    answers: list[str] = field(default_factory=list)
    ttft_s: list[float] = field(default_factory=list)
    usages: list[list[Usage]] = field(default_factory=list)
    calls: list[int] = field(default_factory=list)  # calls made per turn (usage or not)


def endpoint(args: argparse.Namespace) -> tuple[str | None, str]:
    """``(base_url, api_key)``: ``--api-base`` or OpenAI; the key from the environment."""
    key = os.environ.get("OPENAI_API_KEY") or ("no-key" if args.api_base else "")
    return args.api_base, key


# -- the library ------------------------------------------------------------------------------


async def _library_call(
    model: str, messages: list[dict[str, str]], base: str | None, key: str, max_tokens: int,
    stream: bool,
) -> tuple[str, float, Usage | None]:  # fmt: skip
    """One call as the library's client makes it (litellm, usage asked for in streams)."""
    litellm = import_litellm()
    # The client's defaults: temperature 0, the lowest reasoning effort (gpt-5 models).
    kw: dict[str, Any] = {"model": model, "messages": messages, "max_tokens": max_tokens,
                          "api_key": key or None,
                          **sampling_options(model, "lowest", 0.0)}  # fmt: skip
    if base:
        kw["api_base"] = base
    t0 = time.perf_counter()
    if not stream:
        resp = await litellm.acompletion(**kw)
        u = read_usage(getattr(resp, "usage", None))
        text = resp.choices[0].message.content or ""
        first = time.perf_counter() - t0
    else:
        resp = await litellm.acompletion(**kw, stream=True, stream_options={"include_usage": True})
        parts, usage, first = [], None, None
        async for chunk in resp:
            usage = getattr(chunk, "usage", None) or usage
            delta = chunk.choices[0].delta.content if chunk.choices else None
            if delta:
                first = first if first is not None else time.perf_counter() - t0
                parts.append(delta)
        u, text = read_usage(usage), "".join(parts)
        first = first if first is not None else time.perf_counter() - t0
    ok = u.prompt is not None and u.completion is not None
    return text, first, (Usage("answer", u.prompt or 0, u.completion or 0, u.cached or 0)
                         if ok else None)  # fmt: skip


async def library_live(
    name: str, turns: list[Turned], models: list[str], *, base: str | None, key: str,
    max_tokens: int, stream: bool, context_window: int,
) -> LiveArm:  # fmt: skip
    """The engine's turns (replayed context) answered live by ``models[i]`` (one model)."""
    from benchmarks.cost_pricing import counter

    packer = PromptPacker(system_prompt=DEFAULT_SYSTEM_PROMPT, count_tokens=counter("gpt-4o"),
                          budget_tokens=context_window - max_tokens, history_turns=4)  # fmt: skip
    arm = LiveArm(name, models[0] if models else "")
    history: dict[str, list[Turn]] = {}
    for t, model in zip(turns, models, strict=True):
        hist = history.setdefault(t.session, [])
        packed = packer.pack(t.question, context=list(t.answer.context), history=hist)
        text, first, usage = await _library_call(model, list(packed.messages), base, key,
                                                 max_tokens, stream)  # fmt: skip
        before = sum(t.answer.timings.get(s, 0.0) for s in _PRE_ANSWER_STAGES) / 1000
        arm.answers.append(text)
        arm.ttft_s.append(before + first)
        arm.usages.append([usage] if usage else [])
        arm.calls.append(1)
        hist.append(Turn(t.question, text))
    return arm


def framework_live(
    name: str, ask: Ask, turns: list[Turned], model: str,
) -> LiveArm:  # fmt: skip
    """Replay ``turns`` through a live framework chain, keeping its own answers as history."""
    arm = LiveArm(name, model)
    history: dict[str, list[tuple[str, str]]] = {}
    for i, t in enumerate(turns):
        hist = history.setdefault(t.session, [])
        text, ttft, usages, calls = ask(t.question, hist)
        arm.answers.append(text)
        arm.ttft_s.append(ttft)
        arm.usages.append(usages)
        arm.calls.append(calls)
        hist.append((t.question, text))
        print(f"  {name}: {i + 1}/{len(turns)}", file=sys.stderr, end="\r")
    print(file=sys.stderr)
    return arm


# -- report ---------------------------------------------------------------------------------


def summarise(arm: LiveArm, turns: list[Turned], price_as: str) -> dict[str, Any]:
    """Per-arm figures; USD only when every call carried the provider's usage."""
    n = max(1, len(turns))
    flat = [u for us in arm.usages for u in us]
    reported = len(flat) == sum(arm.calls)
    usd = None
    if reported:
        prices = model_prices(price_as)
        usd = 1000 * sum(prices.cost(u.prompt, u.completion, u.cached) for u in flat) / n
    scores = [f1(a, t.gold) for a, t in zip(arm.answers, turns, strict=True)]
    return {
        "model": arm.model,
        "priced_as": price_as,
        "turns": len(turns),
        "llm_calls_per_turn": sum(arm.calls) / n,
        "calls_with_provider_usage": len(flat),
        "prompt_tokens_per_turn": sum(u.prompt for u in flat) / n if reported else None,
        "completion_tokens_per_turn": sum(u.completion for u in flat) / n if reported else None,
        "cached_tokens_per_turn": sum(u.cached for u in flat) / n if reported else None,
        "condense_calls": sum(u.kind == "condense" for u in flat),
        "f1": sum(scores) / n,
        "ttft_s_median": statistics.median(arm.ttft_s) if arm.ttft_s else None,
        "examples": [
            {"q": t.question, "gold": t.gold, "answer": a}
            for t, a in list(zip(turns, arm.answers, strict=True))[:3]
        ],
        "usd_per_1000_turns": usd,
    }


async def live_arms(
    args: argparse.Namespace, rp: Replay, turns: list[Turned], small: list[bool]
) -> dict[str, Any]:
    """Framework defaults at the large model, the library at each tier and routed."""
    import asyncio

    base, key = endpoint(args)
    stream = not args.live_no_stream
    texts = {s.id: s.text for s in rp.stories}
    embed = rp.embedder.embed
    opts = {"model": args.large_model, "base": base, "key": key,
            "max_tokens": args.live_max_tokens, "stream": stream}  # fmt: skip
    small_price, large_price = args.price_as.split(",")
    arms: list[LiveArm] = []
    for fw, build in (
        ("LangChain default", langchain_live),
        ("LlamaIndex default", llamaindex_live),
    ):
        ask = await asyncio.to_thread(build, texts, embed, **opts)
        arms.append(await asyncio.to_thread(framework_live, fw, ask, turns, args.large_model))
    lib = {"base": base, "key": key, "max_tokens": args.live_max_tokens, "stream": stream,
           "context_window": args.live_context_window}  # fmt: skip
    for name, models in (
        ("library, cache (large)", [args.large_model] * len(turns)),
        ("library, cache (small)", [args.small_model] * len(turns)),
    ):
        arms.append(await library_live(name, turns, models, **lib))
    out = {a.name: summarise(a, turns, small_price if a is arms[-1] else large_price)
           for a in arms}  # fmt: skip
    # Routed: the router's tier per turn, each turn's figures taken from that tier's run.
    lg, sm = arms[-2], arms[-1]
    routed = LiveArm("library, cache + routing", args.large_model)
    for i in range(len(turns)):
        src = sm if small[i] else lg
        routed.answers.append(src.answers[i])
        routed.ttft_s.append(src.ttft_s[i])
        routed.usages.append(src.usages[i])
        routed.calls.append(1)
    out[routed.name] = summarise(routed, turns, large_price)
    out[routed.name]["priced_as"] = args.price_as
    out[routed.name]["usd_per_1000_turns"] = _routed_usd(
        lg, sm, small, (small_price, large_price), len(turns)
    )
    out[routed.name]["share_small"] = sum(small) / max(1, len(small))
    return {"stream": stream, "arms": out, "target": target(out)}


def _routed_usd(lg: LiveArm, sm: LiveArm, small: list[bool], price_as: tuple[str, str],
                n: int) -> float | None:  # fmt: skip
    """The routed mix: each turn billed as the tier that answered it (small, large)."""
    total = 0.0
    for i, is_small in enumerate(small):
        arm = sm if is_small else lg
        if len(arm.usages[i]) != arm.calls[i]:
            return None
        prices = model_prices(price_as[0] if is_small else price_as[1])
        total += sum(prices.cost(u.prompt, u.completion, u.cached) for u in arm.usages[i])
    return 1000 * total / max(1, n)


def target(arms: dict[str, Any]) -> dict[str, Any]:
    """The issue's live target: >= 85% saved vs each framework baseline at >= 95% of its F1."""
    out: dict[str, Any] = {}
    for fw in ("LangChain default", "LlamaIndex default"):
        base = arms[fw]
        rows = {}
        for name, a in arms.items():
            if not name.startswith("library"):
                continue
            quality = a["f1"] / base["f1"] if base["f1"] else None
            saved = (1 - a["usd_per_1000_turns"] / base["usd_per_1000_turns"]
                     if a["usd_per_1000_turns"] is not None and base["usd_per_1000_turns"]
                     else None)  # fmt: skip
            rows[name] = {"f1_vs_baseline": quality, "saved": saved,
                          "meets_95pct_f1": quality is not None and quality >= 0.95,
                          "meets_target": bool(quality is not None and quality >= 0.95
                                               and saved is not None and saved >= 0.85)}  # fmt: skip
        out[f"vs {fw}"] = rows
    return out


def print_arms(r: dict[str, Any]) -> None:
    print(f"\nlive arms ({'streamed' if r['stream'] else 'unstreamed'} calls):")
    print(f"{'arm':28s} {'calls':>5s} {'prompt':>7s} {'compl':>6s} {'cached':>6s} {'F1':>5s} "
          f"{'ttft s':>6s} {'USD/1k':>8s}")  # fmt: skip
    for name, a in r["arms"].items():

        def num(x: float | None, f: str) -> str:
            return "n/a" if x is None else format(x, f)

        print(f"{name[:28]:28s} {a['llm_calls_per_turn']:5.2f} "
              f"{num(a['prompt_tokens_per_turn'], '7.0f'):>7s} "
              f"{num(a['completion_tokens_per_turn'], '6.1f'):>6s} "
              f"{num(a['cached_tokens_per_turn'], '6.1f'):>6s} {a['f1']:5.3f} "
              f"{num(a['ttft_s_median'], '6.2f'):>6s} {num(a['usd_per_1000_turns'], '8.3f'):>8s}")  # fmt: skip
    for fw, rows in r["target"].items():
        for name, row in rows.items():
            saved = "n/a" if row["saved"] is None else f"{row['saved']:.1%}"
            q = "n/a" if row["f1_vs_baseline"] is None else f"{row['f1_vs_baseline']:.0%}"
            print(f"  {name} {fw}: F1 {q} of baseline, saved {saved}, "
                  f"target {'met' if row['meets_target'] else 'not met'}")  # fmt: skip
