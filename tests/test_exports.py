from __future__ import annotations

import subprocess
import sys

import contextual_avatar as ca


def test_all_lists_exactly_the_public_names():
    public = {name for name in dir(ca) if not name.startswith("_")}
    modules = {
        "cache",
        "codecs",
        "config",
        "engine",
        "errors",
        "ingest",
        "knowledge",
        "retrieval",
        "routing",
        "types",
        "testing",
        "cli",
    }
    assert set(ca.__all__) - {"__version__"} == public - modules


def test_every_error_derives_from_the_root():
    errors = [getattr(ca, n) for n in ca.__all__ if n.endswith(("Error", "Unavailable"))]
    assert len(errors) >= 8
    assert all(issubclass(e, ca.ContextualAvatarError) for e in errors)


def test_import_is_light():
    code = (
        "import sys, contextual_avatar; "
        "heavy = [m for m in ('torch', 'litellm', 'whisper', 'sentence_transformers', 'av', 'redis', 'neo4j') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
