"""The server's cost over the engine, with the official ``openai`` client on a real port.

Ingests CoQA dev passages (``../shared/data/coqa-dev.json``, real documents), serves them
with ``contextual_avatar.server`` under uvicorn (one process, embedded defaults, the
offline extractive answerer) and measures:

- **overhead**: a non-streamed chat completion's wall time at the client minus the
  engine's own ``timings_ms.total`` for that turn (reported in the response): what HTTP,
  JSON, auth and the OpenAI shapes add to an in-process ``ask``. Target p50 <= 2 ms.
  Measured with the official client (its own request building and response parsing
  included) and with a bare keep-alive httpx client (closer to the server's share); the
  official client's own floor (the same calls answered by a canned route on the same
  uvicorn stack) is measured too, and ``server_share_ms_p50`` is overhead minus floor.
- **TTFB on a cache hit**: a streamed follow-up in a session whose cache holds the
  passage, from sending the request to the first content delta. Target p50 <= 20 ms.
- **200 concurrent streaming clients**: each asks its own passage's question in its own
  session at once; every stream must complete, and each streamed text must equal the
  answer the same question got alone in a fresh session (any interleaving of another
  session's text would break that).

The machine's load average is recorded with the figures (2 shared cores: noisy).

    .venv/bin/python benchmarks/server.py [--docs 20] [--turns 60] [--clients 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import openai

from contextual_avatar import EngineConfig
from contextual_avatar.server import ServerSettings, create_app
from contextual_avatar.testing import running_server

HERE = Path(__file__).resolve().parent
COQA = HERE.parent.parent / "shared" / "data" / "coqa-dev.json"
KEY = "benchmark-key-0123456789"
MODEL = "contextual-avatar"


def pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 3) if values else float("nan")


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def overhead(api: openai.OpenAI, questions: list[str]) -> dict[str, object]:
    wall, engine, extra = [], [], []
    for i, question in enumerate(questions):
        started = time.perf_counter()
        reply = api.chat.completions.create(model=MODEL, messages=[user(question)], user=f"o{i}")
        ms = (time.perf_counter() - started) * 1000
        total = reply.model_extra["contextual_avatar"]["timings_ms"]["total"]
        wall.append(ms)
        engine.append(total)
        extra.append(ms - total)
    return {
        "turns": len(questions),
        "client_wall_ms_p50": pct(wall, 50),
        "engine_total_ms_p50": pct(engine, 50),
        "overhead_ms_p50": pct(extra, 50),
        "overhead_ms_p90": pct(extra, 90),
        "target_overhead_ms_p50": 2.0,
    }


def overhead_raw(base_url: str, questions: list[str]) -> dict[str, object]:
    """The same with a bare keep-alive httpx client: the server's share without the SDK's."""
    extra = []
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {KEY}"}) as http:
        for i, question in enumerate(questions):
            body = {"model": MODEL, "messages": [user(question)], "user": f"r{i}"}
            started = time.perf_counter()
            reply = http.post("/v1/chat/completions", json=body).json()
            ms = (time.perf_counter() - started) * 1000
            extra.append(ms - reply["contextual_avatar"]["timings_ms"]["total"])
    return {
        "turns": len(questions),
        "overhead_ms_p50": pct(extra, 50),
        "overhead_ms_p90": pct(extra, 90),
    }


def client_floor(questions: list[str]) -> dict[str, object]:
    """The official client's own cost: the same calls to a canned reply on the same stack.

    A FastAPI route on uvicorn that returns a fixed completion, so what is left of a call's
    wall time is the SDK's request building, loopback and response parsing.
    """
    from fastapi import FastAPI

    app = FastAPI()
    canned = {
        "id": "chatcmpl-floor",
        "object": "chat.completion",
        "created": 0,
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": "Tickets cost 9 euros for adults."},
            }
        ],
        "usage": {"prompt_tokens": 400, "completion_tokens": 9, "total_tokens": 409},
    }

    @app.post("/v1/chat/completions")
    async def complete() -> dict[str, object]:
        return canned

    wall = []
    with running_server(app) as base_url:
        api = openai.OpenAI(base_url=f"{base_url}/v1", api_key=KEY, max_retries=0, timeout=60)
        api.chat.completions.create(model=MODEL, messages=[user("warm up")])
        for question in questions:
            started = time.perf_counter()
            api.chat.completions.create(model=MODEL, messages=[user(question)])
            wall.append((time.perf_counter() - started) * 1000)
    return {"turns": len(questions), "wall_ms_p50": pct(wall, 50), "wall_ms_p90": pct(wall, 90)}


def ttfb_on_hits(api: openai.OpenAI, stories: list[dict], turns: int) -> dict[str, object]:
    firsts, hits, first_token = [], 0, []
    for i in range(turns):
        story = stories[i % len(stories)]
        q1, q2 = (q["input_text"] for q in story["questions"][:2])
        session = f"t{i}"
        a1 = api.chat.completions.create(model=MODEL, messages=[user(q1)], user=session)
        messages = [
            user(q1),
            {"role": "assistant", "content": a1.choices[0].message.content},
            user(q2),
        ]
        started = time.perf_counter()
        stream = api.chat.completions.create(
            model=MODEL, messages=messages, user=session, stream=True
        )
        first = None
        last = None
        for chunk in stream:
            if first is None and chunk.choices and chunk.choices[0].delta.content:
                first = (time.perf_counter() - started) * 1000
            last = chunk
        served = last.model_extra["contextual_avatar"]
        if served["cache_hit"] and first is not None:
            hits += 1
            firsts.append(first)
            first_token.append(served["timings_ms"].get("first_token", float("nan")))
    return {
        "follow_ups": turns,
        "cache_hits": hits,
        "ttfb_ms_p50": pct(firsts, 50),
        "ttfb_ms_p90": pct(firsts, 90),
        "engine_first_token_ms_p50": pct(first_token, 50),
        "target_ttfb_ms_p50": 20.0,
    }


async def concurrent(base_url: str, stories: list[dict], clients: int) -> dict[str, object]:
    api = openai.AsyncOpenAI(
        base_url=f"{base_url}/v1",
        api_key=KEY,
        max_retries=0,
        timeout=600,
        http_client=openai.DefaultAsyncHttpxClient(
            limits=httpx.Limits(max_connections=clients + 10), timeout=600
        ),
    )
    questions = [
        stories[i % len(stories)]["questions"][i // len(stories) % 3]["input_text"]
        for i in range(clients)
    ]

    async def alone(i: int) -> str:
        reply = await api.chat.completions.create(
            model=MODEL, messages=[user(questions[i])], user=f"alone-{i}"
        )
        return reply.choices[0].message.content

    async def streamed(i: int) -> tuple[str, bool, float]:
        started = time.perf_counter()
        stream = await api.chat.completions.create(
            model=MODEL, messages=[user(questions[i])], user=f"together-{i}", stream=True
        )
        parts, finished = [], False
        async for chunk in stream:
            if chunk.choices:
                parts.append(chunk.choices[0].delta.content or "")
                finished = finished or chunk.choices[0].finish_reason == "stop"
        return "".join(parts), finished, (time.perf_counter() - started) * 1000

    expected = [await alone(i) for i in range(clients)]
    started = time.perf_counter()
    results = await asyncio.gather(*(streamed(i) for i in range(clients)), return_exceptions=True)
    wall = time.perf_counter() - started
    await api.close()
    failed = [r for r in results if isinstance(r, BaseException)]
    ok = [r for r in results if not isinstance(r, BaseException)]
    complete = sum(1 for _, finished, _ in ok if finished)
    same = sum(
        1 for i, r in enumerate(results) if not isinstance(r, BaseException) and r[0] == expected[i]
    )
    return {
        "clients": clients,
        "completed": complete,
        "errors": len(failed),
        "first_error": repr(failed[0]) if failed else None,
        "identical_to_alone": same,
        "wall_s": round(wall, 2),
        "stream_ms_p50": pct([ms for _, _, ms in ok], 50),
        "stream_ms_p99": pct([ms for _, _, ms in ok], 99),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=20)
    parser.add_argument("--turns", type=int, default=60)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--coqa", type=Path, default=COQA)
    args = parser.parse_args()
    stories = json.loads(args.coqa.read_text(encoding="utf-8"))["data"][: args.docs]
    loads = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory() as tmp:
        config = EngineConfig.from_env(data_dir=Path(tmp) / "data")
        app = create_app(config=config, settings=ServerSettings(api_keys=[KEY]))
        with running_server(app) as base_url:
            with httpx.Client(base_url=base_url, timeout=300) as http:  # the upload API
                for s in stories:
                    response = http.put(
                        f"/api/documents/{s['id']}.txt",
                        params={"wait": "true"},
                        content=str(s["story"]).encode(),
                        headers={"Authorization": f"Bearer {KEY}"},
                    )
                    response.raise_for_status()
            api = openai.OpenAI(base_url=f"{base_url}/v1", api_key=KEY, max_retries=0, timeout=120)
            api.chat.completions.create(model=MODEL, messages=[user("warm up")], user="warm")
            questions = [s["questions"][0]["input_text"] for s in stories]
            over = overhead(api, (questions * (args.turns // len(questions) + 1))[: args.turns])
            raw = overhead_raw(
                base_url, (questions * (args.turns // len(questions) + 1))[: args.turns]
            )
            floor = client_floor((questions * (args.turns // len(questions) + 1))[: args.turns])
            loads.append(os.getloadavg()[0])
            ttfb = ttfb_on_hits(api, stories, args.turns)
            loads.append(os.getloadavg()[0])
            crowd = asyncio.run(concurrent(base_url, stories, args.clients))
            loads.append(os.getloadavg()[0])
    result = {
        "documents": len(stories),
        "overhead": over,
        "overhead_bare_httpx": raw,
        "official_client_floor": floor,
        "server_share_ms_p50": round(
            float(over["overhead_ms_p50"]) - float(floor["wall_ms_p50"]),
            3,  # type: ignore[arg-type]
        ),
        "ttfb_cache_hit": ttfb,
        "concurrent_streams": crowd,
        "load_avg_1m": [round(x, 2) for x in loads],
        "cores": os.cpu_count(),
    }
    print(json.dumps(result, indent=2))
    out = HERE / "results" / "server.json"
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
