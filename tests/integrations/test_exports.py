"""The integrations package is light, and a missing framework is a clear install hint."""

from __future__ import annotations

import subprocess
import sys

import pytest


def test_the_package_needs_neither_framework():
    code = (
        "import sys, contextual_avatar.integrations as i; "
        "[getattr(i, n) for n in i.__all__]; "
        "print(sorted(m for m in ('pipecat', 'livekit') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("module", "blocked", "extra"),
    [("pipecat", "pipecat", "pipecat"), ("livekit", "livekit", "livekit")],
)
def test_a_missing_framework_names_the_extra_to_install(module: str, blocked: str, extra: str):
    code = (
        f"import sys; sys.modules[{blocked!r}] = None\n"
        "from contextual_avatar.errors import MissingDependencyError\n"
        "try:\n"
        f"    import contextual_avatar.integrations.{module}\n"
        "except MissingDependencyError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert f"pip install 'contextual-avatar[{extra}]'" in out.stdout
