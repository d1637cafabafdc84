from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_configuration_page_is_generated_from_the_current_config():
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "gen_config_docs.py"), "--check"], check=False
    )
    assert result.returncode == 0, "docs/configuration.md is stale: run scripts/gen_config_docs.py"


def test_readme_gives_exactly_the_two_commands():
    readme = (REPO / "README.md").read_text()
    block = readme.split("## Two commands", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["make quickstart", "make test"]
    assert "make test" in (REPO / ".ci" / "run").read_text()


def test_docs_site_builds_strict(tmp_path: Path):
    """mkdocs build --strict: every page in the nav, no broken link, API pages render."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    site = tmp_path / "site"
    assert (site / "quickstart" / "index.html").exists()
    api = (site / "api" / "engine" / "index.html").read_text()
    assert 'id="contextual_avatar.ContextEngine.ask"' in api
    bench = (site / "benchmarks" / "index.html").read_text()
    assert "assets/benchmarks/" in bench and ".png" in bench
