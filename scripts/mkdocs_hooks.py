"""mkdocs hooks: show benchmark plots from ``benchmarks/results/`` in the docs site.

Pages link plots where the benchmarks write them, ``../benchmarks/results/NAME.png``, so
the links also work when the markdown is read on a code host. A site cannot reach outside
``docs/``, so these hooks add every ``benchmarks/results/*.png`` to the site as
``assets/benchmarks/NAME.png`` and point the links there. Wired in ``mkdocs.yml``.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

RESULTS = Path(__file__).resolve().parent.parent / "benchmarks" / "results"
SITE_FOLDER = "assets/benchmarks"
_LINK = re.compile(r"\]\((?:\.\./)+benchmarks/results/([\w.-]+\.png)\)")


def on_files(files: Files, *, config: Any) -> Files:
    """Add the benchmark plots to the site."""
    for png in sorted(RESULTS.glob("*.png")):
        files.append(File.generated(config, f"{SITE_FOLDER}/{png.name}", abs_src_path=str(png)))
    return files


def on_page_markdown(markdown: str, *, page: Any, config: Any, files: Files) -> str:
    """Point ``../benchmarks/results/NAME.png`` links at the copies in the site."""
    here = posixpath.dirname(page.file.src_uri)

    def relink(match: re.Match[str]) -> str:
        target = posixpath.relpath(f"{SITE_FOLDER}/{match.group(1)}", here or ".")
        return f"]({target})"

    return _LINK.sub(relink, markdown)
