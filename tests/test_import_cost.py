"""What ``import contextual_avatar`` costs: no optional stack, no media or whisper module.

Each check runs in a fresh interpreter, since this test process has imported everything.
Also checks the lazy package tables (``contextual_avatar._lazy``) against what mypy sees.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from contextual_avatar._lazy import lazy_exports

SRC = Path(__file__).resolve().parents[1] / "src"

#: Third-party stacks a plain import must not load (each is an extra, or seconds of import).
HEAVY = ("av", "whisper", "torch", "redis", "neo4j", "litellm", "sentence_transformers")
#: Our modules that only encoding, transcribing or converting models need.
HEAVY_OURS = (
    "contextual_avatar.codecs._video",
    "contextual_avatar.codecs._audio",
    "contextual_avatar.ingest._transcribe",
    "contextual_avatar.ingest._whisper",
)
#: Light settings modules that match a prefix above: ``config.py`` needs them.
SETTINGS = frozenset({"contextual_avatar.ingest._transcribe_config"})
#: Packages whose ``__init__`` exports lazily through ``lazy_exports``.
LAZY_PACKAGES = (
    "contextual_avatar",
    "contextual_avatar.testing",
    "contextual_avatar.codecs",
    "contextual_avatar.codecs.tools",
    "contextual_avatar.ingest",
)


def loaded_after(statement: str) -> list[str]:
    """Every module name in ``sys.modules`` after running ``statement`` in a new interpreter."""
    code = f"{statement}; import sys, json; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return json.loads(out.stdout.splitlines()[-1])


def offenders(modules: list[str]) -> list[str]:
    heavy = [m for m in modules if m.split(".")[0] in HEAVY]
    ours = [m for m in modules if m.startswith(HEAVY_OURS) and m not in SETTINGS]
    return heavy + ours


def test_import_contextual_avatar_loads_nothing_heavy():
    assert offenders(loaded_after("import contextual_avatar")) == []


@pytest.mark.parametrize(
    "statement",
    [
        "import contextual_avatar.codecs._config",
        "import contextual_avatar.ingest._config",
        "import contextual_avatar.ingest._transcribe_config",
        "from contextual_avatar.ingest import count_tokens",
        "from contextual_avatar.codecs import CodecConfig, BitrateController, PacketReport",
        "from contextual_avatar.codecs.tools import CapacityTrace, NetworkSimulator",
    ],
)
def test_a_light_part_loads_no_encoder_transcriber_or_converter(statement: str):
    modules = loaded_after(statement)
    assert offenders(modules) == []
    assert "contextual_avatar.codecs.tools._simulate" not in modules


def test_codecs_never_imports_its_tooling():
    modules = loaded_after(
        "import contextual_avatar.codecs as c; [getattr(c, n) for n in c.__all__]"
    )
    assert not [m for m in modules if m.startswith("contextual_avatar.codecs.tools")]


def _type_checking_imports(package: str) -> dict[str, str]:
    """Name -> defining module, from the ``if TYPE_CHECKING:`` imports mypy reads."""
    init = SRC.joinpath(*package.split(".")) / "__init__.py"
    found: dict[str, str] = {}
    for node in ast.walk(ast.parse(init.read_text())):
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for stmt in node.body:
                assert isinstance(stmt, ast.ImportFrom) and stmt.module
                found.update({alias.name: stmt.module for alias in stmt.names})
    return found


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_lazy_table_matches_what_type_checkers_see(package: str):
    module = importlib.import_module(package)
    lazy = getattr(module, "_LAZY", None) or module._CONTRACTS
    table = {name: importlib.util.resolve_name(target, package) for name, target in lazy.items()}
    assert table == _type_checking_imports(package)
    assert set(table) <= set(module.__all__)
    eager = set(module.__all__) - set(table)  # bound at import: cheap names
    assert all(name in vars(module) for name in eager), eager
    for name in table:
        assert getattr(module, name) is getattr(importlib.import_module(table[name]), name)


def test_lazy_exports_helper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    pkg = tmp_path / "lazy_demo"
    pkg.mkdir()
    (pkg / "_heavy.py").write_text("LOADS = 1\ndef thing():\n    return 'thing'\n")
    (pkg / "sub.py").write_text("X = 2\n")
    (pkg / "__init__.py").write_text(
        "from contextual_avatar._lazy import lazy_exports\n"
        "__all__ = ['thing', 'sub']\n"
        "__getattr__, __dir__ = lazy_exports(__name__, {'thing': '._heavy', 'sub': '.sub'})\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    demo = importlib.import_module("lazy_demo")
    assert "lazy_demo._heavy" not in sys.modules
    assert demo.thing() == "thing"
    assert "lazy_demo._heavy" in sys.modules
    assert "thing" in vars(demo)  # cached: the next access is a plain attribute read
    assert demo.sub.X == 2
    assert {"thing", "sub"} <= set(dir(demo))
    assert "lazy_exports" not in dir(demo)
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        _ = demo.nope
    getattr_, _dir = lazy_exports("lazy_demo", {})
    with pytest.raises(AttributeError):
        getattr_("thing")
