"""The Python on docs/integrations.md runs as printed, and prints what the page says."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
PAGE = REPO / "docs" / "integrations.md"
FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def test_integrations_page_runs_and_prints_what_it_promises(tmp_path: Path):
    script = tmp_path / "integrations_page.py"
    script.write_text("\n\n".join(FENCE.findall(PAGE.read_text())))
    env = {**os.environ, "CONTEXTUAL_AVATAR_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    out = done.stdout
    # Every "# printed" comment on the page is a line the run printed.
    promised = re.findall(
        r"#\s+((?:spoken|sources|system|user|Context)\b.*)$", PAGE.read_text(), re.M
    )
    assert len(promised) >= 6
    for line in promised:
        assert line.strip() in out, (line, out)
    assert "cache hit: False route: small" in out
