# Broadsheet developer commands. `make help` lists them.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help

.PHONY: help install demo test lint typecheck check chaos bench bench-quick web serve worker beat compose-check installed-check image-check clean

help: ## List the targets and what they do
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) ## Create .venv and install Broadsheet with its dev tools

demo: $(STAMP) ## Run the whole pipeline on embedded defaults (SQLite, no Redis); emails go to var/demo/outbox
	$(VENV)/bin/broadsheet demo

test: $(STAMP) ## Run the test suite on SQLite and PostgreSQL, with real Redis and Celery workers
	$(VENV)/bin/pytest

lint: $(STAMP) ## ruff check and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP) ## mypy over every package
	$(VENV)/bin/mypy

chaos: $(STAMP) ## Kill workers, restart Redis and beat, break SendGrid: prints one line per scenario
	$(VENV)/bin/pytest -m chaos -v

check: lint typecheck test ## Everything CI checks

bench: $(STAMP) ## Every benchmark; prints a table and writes bench/results/latest.json
	$(PY) -m bench.run

bench-quick: $(STAMP) ## The benchmarks at small sizes (under two minutes)
	$(PY) -m bench.run --quick

web: $(STAMP) ## Run the web app on http://127.0.0.1:8000
	$(VENV)/bin/broadsheet web

serve: $(STAMP) ## Web, worker and beat together (in-process without REDIS_URL)
	$(VENV)/bin/broadsheet serve

worker: $(STAMP) ## A Celery worker (needs REDIS_URL)
	$(VENV)/bin/broadsheet worker

beat: $(STAMP) ## Celery beat (needs REDIS_URL)
	$(VENV)/bin/broadsheet beat

compose-check: ## Validate docker-compose.yml (needs the docker client only)
	docker compose config -q

installed-check: ## Wheel -> fresh venv outside the checkout -> demo, then init+web+worker on PostgreSQL/Redis
	scripts/installed-check

image-check: ## Build the Docker image on a local stand-in base and run demo + web in it (needs root)
	scripts/image-check

clean: ## Remove var/ (databases, outboxes) and caches
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
