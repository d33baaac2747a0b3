# Two commands do all the set-up on a fresh machine:
#   make up     migrate the embedded PostgreSQL (or DATABASE_URL) and run the policy audit
#   make test   run the whole test suite against a real PostgreSQL and a real Redis
# uv is installed into .cache/tools when it is not on PATH.

SHELL := /bin/bash
TOOLS := .cache/tools
UV := $(shell command -v uv 2>/dev/null || echo $(TOOLS)/bin/uv)
PYTEST_WORKERS ?= 2

.PHONY: up test install lint check audit bundle types clean

up: install
	$(UV) run backend db migrate
	$(UV) run backend audit

test: install
	$(UV) run pytest -n $(PYTEST_WORKERS) --dist loadfile

install: $(UV)
	$(UV) sync --frozen --quiet

$(TOOLS)/bin/uv:
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet uv

lint: install
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy
	$(UV) run backend db lint
	$(UV) run backend db bundle --check
	$(UV) run backend db types --check

audit: install
	$(UV) run backend audit

bundle: install
	$(UV) run backend db bundle

types: install
	$(UV) run backend db types

clean:
	-$(UV) run backend db stop
	rm -rf .cache .venv
