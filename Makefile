# Databasement: `make run` to try it, `make test` to check it. `make help` lists every target.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=
# Parallel test processes (pytest-xdist); tests wait on servers more than on the CPU, so more
# than the 2 cores pay. `PYTEST_WORKERS=0` runs in one process.
PYTEST_WORKERS ?= 4
XDIST = $(if $(filter 0,$(PYTEST_WORKERS)),,-n $(PYTEST_WORKERS) --dist worksteal)

.PHONY: help install services test-tools browser env run up down migrate test test-unit test-integration test-e2e lint format docs screenshots faults bench scale clean

help: ## Show this help
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*?## "}{printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP) ## Create .venv and install Databasement with its dev tools

services: ## Start local RabbitMQ, PostgreSQL and MariaDB if they are down
	@scripts/ensure-services.sh

# nginx (the gateway test) and kubectl (kustomize rendering) for tests/integration/deploy.
# Best effort: without apt-get or root their tests skip with the reason. The tests run their
# own nginx on free loopback ports, never the system one.
DEPLOY_TOOLS := nginx kubectl
test-tools: ## Install nginx and kubectl with apt-get when missing (else the deploy tests skip)
	@missing=""; for tool in $(DEPLOY_TOOLS); do \
	  command -v $$tool >/dev/null 2>&1 || [ -x /usr/sbin/$$tool ] || missing="$$missing $$tool"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if ! command -v apt-get >/dev/null 2>&1 || [ "$$(id -u)" != 0 ]; then \
	  echo "test-tools: missing$$missing and no apt-get as root; those tests will skip"; exit 0; \
	fi; \
	echo "test-tools: apt-get install$$missing"; \
	for tool in $$missing; do \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$tool >/dev/null 2>&1 \
	  || { apt-get update -qq >/dev/null 2>&1 \
	       && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$tool >/dev/null 2>&1; } \
	  || echo "test-tools: could not install $$tool; its tests will skip"; \
	done

# Debian's Chromium for the web UI tests (tests/e2e/ui), driven by Playwright: never a browser
# download. Best effort like test-tools: without apt-get or root those tests skip, saying why.
browser: ## Install Chromium with apt-get when missing (else the web UI tests skip)
	@if [ -x /usr/bin/chromium ]; then exit 0; fi; \
	if ! command -v apt-get >/dev/null 2>&1 || [ "$$(id -u)" != 0 ]; then \
	  echo "browser: no /usr/bin/chromium and no apt-get as root; the web UI tests will skip"; \
	  exit 0; \
	fi; \
	echo "browser: apt-get install chromium"; \
	{ apt-get update -qq >/dev/null 2>&1 \
	  && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1; } \
	|| echo "browser: could not install chromium; the web UI tests will skip"

env: $(STAMP) ## Generate the development keys under ./var once
	@$(BIN)/python scripts/dev_env.py

run: install services env ## Run the four services in the foreground and back up a sample database
	@scripts/stack.sh run

up: install services env ## Start the stack in the background; returns when every service is ready
	@scripts/stack.sh up

down: ## Stop the background stack and every process it started
	@scripts/stack.sh down

migrate: install services env ## Apply every service's migrations and exit
	@set -a && . var/dev.env && set +a && \
	  for svc in api dumper uploader catalog; do $(BIN)/python -m services.$$svc migrate || exit 1; done

test: install services test-tools browser ## Install and run the whole suite
	$(BIN)/pytest $(XDIST) $(PYTEST_ARGS)

test-unit: install ## Run the unit tests only (no sockets)
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

test-integration: install services test-tools ## Run the integration tests (real broker, databases, S3)
	$(BIN)/pytest $(XDIST) tests/integration $(PYTEST_ARGS)

test-e2e: install services browser ## Run the end-to-end tests (the whole stack)
	$(BIN)/pytest $(XDIST) tests/e2e $(PYTEST_ARGS)

lint: install ## ruff format --check, ruff check, mypy
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

docs: install ## Regenerate README's configuration tables and docs/asyncapi/*.json (the events)
	$(BIN)/python scripts/settings_doc.py
	$(BIN)/python scripts/asyncapi_doc.py

screenshots: install services browser ## Regenerate the docs' screenshots (docs/images) from the browser tests
	@mkdir -p docs/images
	DBM_DOC_SCREENSHOTS=$(CURDIR)/docs/images $(BIN)/pytest -m doc_screenshots tests/e2e/ui $(PYTEST_ARGS)

format: install ## Format and autofix
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

faults: install services ## The full fault suite: 200 backups through crashes and outages, its figures (not in make test)
	$(BIN)/python scripts/faults.py $(FAULTS_ARGS)

bench: install services ## Time Databasement against `dump | gzip -6` and the raw dump (not in make test)
	$(BIN)/python scripts/bench.py

scale: install services ## Backups per minute with 1, 2 and 4 dumper+uploader replicas, 40 databases (not in make test)
	$(BIN)/python scripts/scale.py

clean: down ## Remove ./var (local volume, staging, keys) and caches
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
