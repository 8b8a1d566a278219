# The two commands a newcomer needs (see README): `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: runtime install run test lint clean

# `make run` needs only the runtime dependencies; `make test` adds the development tools
# (linters, type checker, test runner, browser driver, vendor SDKs).
$(VENV)/.runtime: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed: $(VENV)/.runtime
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

runtime: $(VENV)/.runtime

install: $(VENV)/.installed

## Serve the API on the SQLite default, with a demo project and its audit.
run: runtime
	$(BIN)/retention-audit migrate
	$(BIN)/retention-audit demo --host $(HOST) --port $(PORT)
	$(BIN)/retention-audit serve --host $(HOST) --port $(PORT)

## Lint, type-check and run every test (SQLite and PostgreSQL).
test: install
	scripts/ensure-chromium
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
