# Two commands on a fresh machine: `make demo` and `make test`.
# The same on the lowest versions pyproject.toml allows (CI runs both):
#   make test VENV=.venv-lowest CONSTRAINTS=constraints-lowest.txt
PYTHON ?= python3
VENV ?= .venv
CONSTRAINTS ?=
BIN := $(VENV)/bin

.PHONY: demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]' $(if $(CONSTRAINTS),-c $(CONSTRAINTS))
	touch $@

demo: $(VENV)/.installed
	$(BIN)/migtutor demo --no-pause

test: $(VENV)/.installed
	$(BIN)/python -m pytest

lint: $(VENV)/.installed
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

bench: $(VENV)/.installed
	$(BIN)/python bench/run.py

clean:
	rm -rf .venv .venv-lowest *.egg-info .pytest_cache
