# o2c: `make run` starts the whole desk on this machine; `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install run test test-reliability lint format clean bench

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	@bash scripts/run.sh

test: $(STAMP)
	$(BIN)/python -m pytest

# The long scenarios (worker crashes, Redis and PostgreSQL faults, the 50-user load test):
# they need PostgreSQL and Redis (DATABASE_URL, CELERY_BROKER_URL); CI runs them after `make test`.
test-reliability: $(STAMP)
	$(BIN)/python -m pytest -m slow tests/reliability

# The benchmark needs PostgreSQL (DATABASE_URL); SCALE=small or tiny for a quicker run.
bench: $(STAMP)
	$(BIN)/python -m bench --scale $(or $(SCALE),full)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf data/test-*.sqlite3* data/broker test-results
