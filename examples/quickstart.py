"""Quickstart: ingest the sample visitor guide and ask two questions, the second a follow-up.

Runs on embedded defaults: no server, no API key. The index lives in this example's own
data folder, ``examples/.data/quickstart`` (set CONTEXTUAL_AVATAR_DATA_DIR to put it
elsewhere), not in the per-user folder other applications share; running it twice skips
the unchanged PDF.
"""

from pathlib import Path

import contextual_avatar as ca

HERE = Path(__file__).parent
GUIDE = HERE / "data" / "guide.pdf"
config = ca.EngineConfig.from_env(default_data_dir=HERE / ".data" / "quickstart")

with ca.ContextEngine(config) as engine:
    print(f"data folder: {engine.config.data_dir}")
    report = engine.ingest(GUIDE)
    status = "already indexed" if report.unchanged else f"{report.chunks} chunks indexed"
    print(f"{GUIDE.name}: {status}\n")

    for question in ["How much does an adult ticket cost?", "And for children?"]:
        answer = engine.ask("visitor-1", question)
        print(f"Q: {question}")
        print(f"A: {answer.text}")
        for ref in answer.citations:
            print(f"   source: {ref}")
        where = "session cache" if answer.cache_hit else "vector index"
        print(f"   (context from the {where}, {answer.timings['total']:.0f} ms)\n")
