# Two entry points, each sets up everything it needs first:
#   make quickstart   - .venv with only what the quickstart runs (torch, [embeddings]), then
#                       the quickstart on embedded defaults
#   make test         - the same .venv with every extra and the dev tools, plus system packages,
#                       then lint, types and the whole suite
# One .venv, a stamp per level: the full level is a superset, so a quickstart after `make
# test` installs nothing, and `make test` after a quickstart adds what is missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
QUICK  := $(VENV)/.installed-quickstart

.PHONY: quickstart test lint typecheck setup system-deps bench clean

quickstart: $(QUICK)
	@printf '\n==> examples/quickstart.py (loads the embedding model, ingests guide.pdf, asks twice)\n'
	$(BIN)/python examples/quickstart.py

test: $(STAMP) system-deps lint typecheck
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests examples benchmarks
	$(BIN)/ruff format --check src tests examples benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

# Every benchmarks/*.py, then docs/benchmarks.md from their results (tens of minutes on 2 cores).
bench: $(STAMP) system-deps
	$(BIN)/contextual-avatar bench

setup: $(STAMP)

$(STAMP): pyproject.toml scripts/setup-venv.sh
	PYTHON=$(PYTHON) VENV=$(VENV) bash scripts/setup-venv.sh
	touch $(STAMP)

$(QUICK): pyproject.toml scripts/setup-venv.sh
	@if [ -f $(STAMP) ] && [ $(STAMP) -nt pyproject.toml ] && [ $(STAMP) -nt scripts/setup-venv.sh ]; \
	then echo "==> $(VENV) already holds every extra (make test set it up)"; \
	else PYTHON=$(PYTHON) VENV=$(VENV) bash scripts/setup-venv.sh quickstart; fi
	touch $(QUICK)

system-deps:
	bash scripts/system-deps.sh

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
