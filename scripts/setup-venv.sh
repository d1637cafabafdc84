#!/usr/bin/env bash
# Create .venv and install the package with every extra and the dev tools.
set -euo pipefail
PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
"${PIP[@]}" install -q --upgrade pip
# torch first, pinned: this exact version resolves to a CPU-only build here; an unpinned
# torch pulled in by sentence-transformers or whisper would fetch a multi-GB CUDA build.
"${PIP[@]}" install -q "torch==2.13.0"
"${PIP[@]}" install -q -e ".[all,bench,dev,docs,examples]"
# openai-whisper without its dependencies: the [whisper] extra lists the ones it needs;
# its triton requirement (about 1 GB, GPU only) is skipped. Pinned: the converter and the
# progress hook follow this version's checkpoint format and transcribe loop.
"${PIP[@]}" install -q --no-deps "openai-whisper==20250625"
