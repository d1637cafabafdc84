"""The code on docs/extending.md runs, as one pytest module, against a real redis-server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from contextual_avatar.testing import RedisServer

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def python_blocks(page: Path) -> str:
    return "\n\n".join(block for block in FENCE.findall(page.read_text()))


def test_extending_page_runs_and_its_contract_suites_pass(tmp_path: Path):
    module = tmp_path / "test_extending_page.py"
    module.write_text(python_blocks(REPO / "docs" / "extending.md"))
    redis = RedisServer(tmp_path / "redis").start()
    try:
        env = {
            **os.environ,
            "REDIS_URL": redis.url,
            "EXTENDING_DATA_DIR": str(tmp_path / "data"),
        }
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "-o",
                "asyncio_mode=auto",
                "-o",
                "asyncio_default_fixture_loop_scope=function",
                "--rootdir",
                str(tmp_path),
                str(module),
            ],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    finally:
        redis.stop()
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    summary = done.stdout.strip().splitlines()[-1]
    passed = int(re.search(r"(\d+) passed", summary).group(1))
    assert passed >= 20, summary  # the page's own tests plus the contract suites
    assert "failed" not in summary and "error" not in summary, summary
