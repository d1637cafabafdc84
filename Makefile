# Two entry points, each sets up everything it needs first:
#   make quickstart   - .venv with every extra, then the quickstart on embedded defaults
#   make test         - the same .venv plus system packages, then lint, types and the whole suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: quickstart test lint typecheck setup system-deps bench clean

quickstart: $(STAMP)
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

system-deps:
	bash scripts/system-deps.sh

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
