# Every target creates .venv from the pinned requirement files on first use (and again when they change).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test lint bench backtest bundle chaos fuzz mutation clean-venv
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

# The pipeline's bad-input property with 1,000 fresh examples (make test runs 60 fixed ones). The seed is
# drawn and printed in the header; SEED=N repeats a run.
SEED ?= $(shell date +%s)
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=explore FUZZ_EXAMPLES=1000 $(BIN)/python -m pytest tests/test_fuzz_pipeline.py --hypothesis-seed=$(SEED)

# Mutation testing of the rule packages (docs/TESTING.md); mutmut is installed on first use, never by `make test`.
# PACKAGE=risk|safety|strategies|core runs one; the scores go to reports/mutation/.
MUTATION_STAMP := $(VENV)/.mutation-installed
$(MUTATION_STAMP): $(STAMP) requirements-mutation.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-mutation.txt
	touch $(MUTATION_STAMP)

mutation: $(MUTATION_STAMP)
	$(BIN)/python -m tests.mutation $(if $(PACKAGE),--package $(PACKAGE))

# The cloud project: only what LEAN runs, checked against QuantConnect's file quota for $(TIER).
bundle: $(STAMP)
	$(BIN)/python -m deploy --tier $(TIER) $(if $(PRESET),--preset $(PRESET))

clean-venv:
	rm -rf $(VENV)
