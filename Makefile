# Octopost: `make run` to start the service, `make test` to run the suite.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install run test lint format check bench clean

help: ## show this help
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) ## create .venv and install Octopost with test and dev tools

run: $(STAMP) ## install, then serve http://127.0.0.1:8000 with data in ./data
	$(BIN)/octopost serve

test: $(STAMP) ## run the whole test suite
	$(BIN)/pytest

lint: $(STAMP) ## ruff format check and lint
	$(BIN)/ruff format --check octopost tests bench
	$(BIN)/ruff check octopost tests bench

format: $(STAMP) ## apply ruff formatting and safe fixes
	$(BIN)/ruff format octopost tests bench
	$(BIN)/ruff check --fix octopost tests bench

check: lint ## lint, type-check octopost/, then test
	$(BIN)/mypy octopost
	$(BIN)/pytest

bench: $(STAMP) ## run the benchmarks in bench/ (prints figures)
	$(BIN)/python -m bench

clean: ## remove the virtual environment and caches
	rm -rf $(VENV) .mypy_cache .ruff_cache
