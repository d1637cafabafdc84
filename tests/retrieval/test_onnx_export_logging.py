"""Exporting the int8 model leaves the user's logging alone.

ONNX Runtime's quantiser logs a hint through the root logger, which in a process that has
not configured logging prints "WARNING:root:..." and installs a root handler for good.
Checked in a fresh interpreter (pytest configures logging itself), on the real model.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

_EXPORT = """
import json, logging, sys
from pathlib import Path
from contextual_avatar.retrieval import OnnxEmbedder
model = OnnxEmbedder(cache_dir=Path(sys.argv[1]), quantize=True)
vector = model.embed(["The harbour tour lasts ninety minutes."])
logging.getLogger("app").warning("the application's own warning")
print(json.dumps({"root_handlers": len(logging.getLogger().handlers), "dim": vector.shape[1]}))
"""


def test_the_int8_export_prints_nothing_and_configures_no_logging(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", _EXPORT, str(tmp_path / "models")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out == {"root_handlers": 0, "dim": 384}
    assert "pre-processing" not in done.stderr, done.stderr
    # Python's last-resort handler still shows the application's own warnings afterwards.
    assert "the application's own warning" in done.stderr
    assert list((tmp_path / "models").glob("*-int8.onnx")), "the int8 model was exported"
