from __future__ import annotations

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
