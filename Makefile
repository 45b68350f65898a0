# Every target creates .venv from the pinned requirement files on first use (and again when they change).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test lint bench backtest bundle push chaos fuzz clean-venv
TIER ?= researcher

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; sys.exit(0 if v == (3, 11) else "the LEAN image runs Python 3.11; $(PYTHON) is %d.%d (set PYTHON=python3.11)" % v)'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m bench.run

backtest: $(STAMP)
	$(BIN)/python -m replay

# Faults drawn from a seed over 2018, every invariant checked after every step (docs/RELIABILITY.md).
chaos: $(STAMP)
	$(BIN)/python -m replay.chaos --runs 8 --seed 1

# The pipeline's bad-input property with 1,000 fresh examples (make test runs 60 fixed ones).
fuzz: $(STAMP)
	FUZZ_EXAMPLES=1000 $(BIN)/python -m pytest tests/test_fuzz_pipeline.py

# The cloud project: only what LEAN runs, checked against QuantConnect's file quota for $(TIER).
bundle: $(STAMP)
	$(BIN)/python -m deploy --tier $(TIER) $(if $(PRESET),--preset $(PRESET))

# `lean cloud push` of that bundle, failing when the CLI only warns (it exits 0 on a rejected push).
push: bundle
	$(BIN)/python -m deploy.push dist/options-income

clean-venv:
	rm -rf $(VENV)
