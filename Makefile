# Two commands: `make run` and `make test`. Both build .venv from scratch if needed.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint typecheck pytest bench clean

$(BIN)/python:
	$(shell command -v $(PYTHON) || echo python3) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/marac-hub demo

lint: $(STAMP)
	$(BIN)/ruff check hub agency_client tests bench
	$(BIN)/ruff format --check hub agency_client tests bench

typecheck: $(STAMP)
	$(BIN)/mypy hub agency_client

pytest: $(STAMP)
	$(BIN)/python -m pytest -q

test: lint typecheck pytest

bench: $(STAMP)
	$(BIN)/python bench/crypto.py
	$(BIN)/python bench/delivery.py
	$(BIN)/python bench/log.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache build *.egg-info
