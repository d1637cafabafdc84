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
        "parts",
        "pipeline",
        "server",
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


def test_the_interfaces_a_host_implements_are_exported_with_their_contracts():
    """Every seam of the engine is a public name, with a docstring that states its contract."""
    for name in (
        "Embedder",
        "Retriever",
        "ChunkStore",
        "EvictionPolicy",
        "KnowledgeGraphSink",
        "SimilarityRouter",
        "Responder",
        "MediaCodec",
        "Parts",
    ):
        interface = getattr(ca, name)
        assert interface.__doc__ and len(interface.__doc__.strip()) > 40, name
    from contextual_avatar import testing

    for suite in (
        "EmbedderContract",
        "EvictionPolicyContract",
        "ChunkStoreContract",
        "KnowledgeGraphSinkContract",
        "SimilarityRouterContract",
        "ResponderContract",
        "MediaCodecContract",
    ):
        assert isinstance(getattr(testing, suite), type), suite
