# motcua — one-stop public administration, event-sourced.
# `make run` starts everything with a demo; `make test` runs the whole suite.
# Both start their own NATS and PostgreSQL unless NATS_URL and DATABASE_URL are set.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell sha1sum requirements.txt | cut -c1-12)

.PHONY: install run test lint messages faults bench bench-large clean-data

install: $(STAMP)

$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

run: install
	$(PY) -m services.ops.launcher

test: install
	$(PY) -m pytest -q -p no:cacheprovider

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy shared services

# The web's message catalogues: extract the keys again and add new words to vi/en .po (docs/web.md).
messages: install
	$(PY) -m services.web.messages

# Kills, cuts and deletes under load, one fault at a time; writes tests/faults/results/ and README.
# FAULTS_ARGS="--cut-seconds 10 --seconds 15" for a shorter run.
faults: install
	$(PY) -m tests.faults $(FAULTS_ARGS)

bench: install  # ~10-15 min on 2 cores: intake, end to end, ~100k events replayed, queries
	$(PY) -m bench

bench-large: install  # 1 M dossiers (~4.5 M events); about an hour on 2 cores, see bench/README.md
	$(PY) -m bench --stages 10000 1000000 --query-samples 500

# Stops servers left running and removes the data (also a copy relocated for PostgreSQL's user).
clean-data: install
	$(PY) -m services.ops.devservers clean --data-dir .data
