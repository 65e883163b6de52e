# Octopost: `make run` to start the service, `make test` to run the suite.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# One stamp per layer of tools: running needs the runtime only, tests add pytest and
# friends, lint and type checks add ruff and mypy.
RUN_STAMP  := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
DEV_STAMP  := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install run test lint format check bench image-test clean

help: ## show this help
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(RUN_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $(RUN_STAMP)

$(TEST_STAMP): $(RUN_STAMP)
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(TEST_STAMP)

$(DEV_STAMP): $(TEST_STAMP)
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(DEV_STAMP)

install: $(DEV_STAMP) ## create .venv and install Octopost with test and dev tools

run: $(RUN_STAMP) ## install what running needs, then serve http://127.0.0.1:8000 with data in ./data
	$(BIN)/octopost serve

test: $(TEST_STAMP) ## add the test tools, then run the whole test suite
	$(BIN)/pytest

lint: $(DEV_STAMP) ## ruff format check and lint
	$(BIN)/ruff format --check octopost tests bench
	$(BIN)/ruff check octopost tests bench

format: $(DEV_STAMP) ## apply ruff formatting and safe fixes
	$(BIN)/ruff format octopost tests bench
	$(BIN)/ruff check --fix octopost tests bench

check: lint ## lint, type-check octopost/, then test
	$(BIN)/mypy octopost
	$(BIN)/pytest

bench: $(TEST_STAMP) ## run the benchmarks in bench/ (prints figures)
	$(BIN)/python -m bench

image-test: ## build the container image and smoke-test it with compose (root, Debian; see README)
	bash .ci/image-test.sh

clean: ## remove the virtual environment and caches
	rm -rf $(VENV) .mypy_cache .ruff_cache
