# Every target creates .venv from the pinned requirement files on first use (and again when they change).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test lint bench backtest bundle push chaos chaos-long fuzz mutation clean-venv workspace
TIER ?= researcher

$(STAMP): requirements.txt requirements-dev.txt | workspace
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; sys.exit(0 if v == (3, 11) else "the LEAN image runs Python 3.11; $(PYTHON) is %d.%d (set PYTHON=python3.11)" % v)'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

# The lean CLI rewrites lean.json on every run (data-provider settings; file-database-last-update once a day:
# lean-cli lean/click.py `LeanCommand.invoke` → components/cloud/data_downloader.py `update_database_files`),
# so it is untracked and written from the template when missing, never over the user's.
lean.json:
	cp lean.template.json lean.json
	@echo "lean.json written: fill in organization-id (see its description)"

# Every target passes here first: lean.json, and git's filter that keeps the lean CLI's ids out of
# config.json's diff (deploy/lean_ids.py; .gitattributes names it). Outside a git clone there is nothing to do.
workspace: lean.json
	@git config filter.lean-ids.clean "$(PYTHON) deploy/lean_ids.py" 2>/dev/null || true

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

# 100 faulted years, each drawn from the whole history (1999-2021) with its own fault mix, on a local Dask
# cluster of two workers (WORKERS=N, or SCHEDULER=tcp://HOST:8786 for a running cluster). Runs 1-10 are the
# same as `--runs 10`'s: a shorter run is the start of this one.
WORKERS ?= 2
chaos-long: $(STAMP)
	$(BIN)/python -m replay.chaos --runs 100 --seed 1 --years 1999-2021 --out reports/chaos-long \
		$(if $(SCHEDULER),--scheduler $(SCHEDULER),--workers $(WORKERS))

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

# `lean cloud push` of that bundle, failing when the CLI only warns (it exits 0 on a rejected push).
push: bundle
	$(BIN)/python -m deploy.push dist/options-income

clean-venv:
	rm -rf $(VENV)
