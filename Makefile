# One target per job; .ci/run calls the same ones.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint format-check format typecheck check bench browser caddy

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/dropspace serve

browser:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

# The deployment tests check the Caddyfile with `caddy adapt` and run Caddy.
caddy:
	@command -v caddy >/dev/null || (apt-get update -qq && apt-get install -y -qq caddy)

# The whole suite twice: on SQLite, then on PostgreSQL with a throwaway
# database per test server (DROPSPACE_TEST_POSTGRES_URL names where).
# Both passes run even when the first fails, and either failing fails.
test: install browser caddy
	$(BIN)/pytest -q --database=sqlite $(PYTEST_ARGS); sqlite=$$?; \
	$(BIN)/pytest -q --database=postgresql $(PYTEST_ARGS); postgresql=$$?; \
	test $$sqlite -eq 0 && test $$postgresql -eq 0

format-check: install
	$(BIN)/ruff format --check server workers tests bench

format: install
	$(BIN)/ruff format server workers tests bench

lint: install
	$(BIN)/ruff check server workers tests bench

typecheck: install
	$(BIN)/mypy

check: format-check lint typecheck test

bench: install browser
	$(BIN)/python -m bench.run_all
