# Socle: `make run` serves the tool with its demo platform; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
export LTI_TOOL_BASE_URL ?= http://127.0.0.1:$(PORT)

.PHONY: run test install setup browser-deps lint bench clean

# The virtualenv is rebuilt when the dependencies change.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# French is the source language; the English catalogue is compiled here, never committed.
lti_tool/translations/en/LC_MESSAGES/messages.mo: lti_tool/translations/en/LC_MESSAGES/messages.po $(VENV)/.installed
	$(BIN)/pybabel compile --use-fuzzy -d lti_tool/translations -D messages --statistics

install: $(VENV)/.installed lti_tool/translations/en/LC_MESSAGES/messages.mo

setup: install
	$(BIN)/flask --app lti_tool setup

# The outbox worker runs beside the web server and stops with it.
run: setup
	$(BIN)/flask --app lti_tool worker & WORKER=$$!; trap 'kill $$WORKER 2>/dev/null' EXIT INT TERM; \
	PORT=$(PORT) $(BIN)/gunicorn -c gunicorn.conf.py 'lti_tool:create_app()'

# Debian's Chromium drives the browser tests (Playwright uses it through executable_path; no download).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "Install Debian's chromium package (sudo apt-get install chromium) for the browser tests." >&2; exit 1; fi; }

test: install browser-deps
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check lti_tool xapi demo_platform tests bench
	$(BIN)/ruff format --check lti_tool xapi demo_platform tests bench
	$(BIN)/mypy

# Benchmarks print their figures (they are not tests); add --database-url postgresql://… to each for PostgreSQL.
bench: install
	$(BIN)/python bench/launch.py
	$(BIN)/python bench/player.py
	$(BIN)/python bench/xapi.py
	$(BIN)/python bench/ags.py
	$(BIN)/python bench/certificates.py
	$(BIN)/python bench/exports.py
	$(BIN)/python bench/dashboard.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
