# vhs-platform: `make run` serves the app with demo data, `make test` runs ruff and the suite.
# Everything runs from .venv (created on first use); nothing else needs to be installed.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 5000
PYTEST_ARGS ?=
WORKERS ?= 2
# The browser tests drive Debian's Chromium; VHS_BROWSER_OPTIONAL=1 lets them skip without it.
CHROMIUM ?= /usr/bin/chromium
# `flask run` reads its address from these, and so does vhs/config.py: when VHS_PUBLIC_BASE_URL
# is unset, links in e-mails and calendars point at the HOST and PORT being served.
RUN_ENV = FLASK_RUN_HOST=$(HOST) FLASK_RUN_PORT=$(PORT)

TRANSLATIONS := vhs/translations
POT := $(TRANSLATIONS)/messages.pot
LOCALES := de
# Keep in step with KEYWORDS in tests/test_translations.py (babel's defaults are included).
BABEL_KEYWORDS := -k _l -k lazy_gettext -k lazy_ngettext:1,2 -k lazy_pgettext:1c,2

export FLASK_APP := wsgi.py
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help venv translations compile assets run test pytest test-browser check-chromium lint \
	format bench fuzz clean distclean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

venv: $(STAMP) ## Create .venv and install the app with its dev extra

# Reinstall only when pyproject.toml changed since the last install.
$(STAMP): pyproject.toml
	@if ! $(BIN)/python -c 'import sys' 2>/dev/null; then \
	  $(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	    || { echo "vhs-platform needs Python >= 3.11 (set PYTHON=python3.x)." >&2; exit 1; }; \
	  rm -rf $(VENV); \
	  echo "Creating $(VENV) with $$($(PYTHON) --version)"; \
	  $(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
	    echo "python3 -m venv failed: install the venv module (Debian/Ubuntu: apt-get install python3-venv)." >&2; \
	    exit 1; }; \
	fi
	@echo "Installing vhs-platform[dev] into $(VENV) (the first time takes a minute or two)"
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

translations: venv ## Extract messages and update the German catalog (then translate what is new)
	$(BIN)/pybabel -q extract -F babel.cfg $(BABEL_KEYWORDS) --add-location=file \
	  --project=vhs-platform --copyright-holder=vhs-platform -o $(POT) .
	$(foreach lang,$(LOCALES),$(BIN)/pybabel -q update --init-missing --ignore-obsolete --no-fuzzy-matching \
	  --ignore-pot-creation-date -i $(POT) -d $(TRANSLATIONS) -l $(lang) &&) true
	@$(BIN)/python tools/po_status.py $(TRANSLATIONS)/*/LC_MESSAGES/messages.po

compile: venv ## Compile the translation catalogs (.mo files are never committed)
	@$(BIN)/python -c 'from vhs.translations import compile_catalogs; \
	  print("compiled:", *compile_catalogs()) '

# The browser reader's libraries (epub.js, JSZip) from npm, copied into vhs/static/vendor with a
# manifest of their versions. The copies are committed: only changing a version needs Node.
assets: ## Install the pinned browser libraries (npm ci) and copy them into vhs/static/vendor
	cd vhs/assets && npm ci --ignore-scripts --no-audit --no-fund && node build.mjs

run: venv compile ## Migrate, seed demo data on first run, serve on http://127.0.0.1:5000
	$(RUN_ENV) $(BIN)/flask db upgrade
	$(RUN_ENV) $(BIN)/flask demo seed --if-empty
	@echo "Serving on http://$(HOST):$(PORT)/ (Ctrl+C to stop)"
	$(RUN_ENV) $(BIN)/flask run

# Runs before anything is installed or tested, so a machine without Chromium hears it once, at
# the start, instead of after the whole suite as one error per browser test.
check-chromium: ## Stop with the install command when the browser tests cannot run
	@if [ ! -x "$(CHROMIUM)" ] && [ "$${VHS_BROWSER_OPTIONAL:-}" != 1 ]; then \
	  echo "Chromium not found at $(CHROMIUM): the browser tests (tests/browser) need it." >&2; \
	  echo "  Install Debian's package:  apt-get install chromium   (as root, or with sudo)" >&2; \
	  echo "  or skip the browser tests on this machine:  VHS_BROWSER_OPTIONAL=1 make $(MAKECMDGOALS)" >&2; \
	  exit 1; \
	fi

test: check-chromium venv compile ## ruff and lint-imports, then the whole pytest suite (browser tests included)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(MAKE) --no-print-directory pytest

# Tests that only use the test client run on two workers; live-server tests (gunicorn storms,
# the browser) run alone afterwards, so they do not compete for the two cores. LIVE_MARK narrows
# the second part (.ci/run's PostgreSQL phase: "live and not browser", see there).
LIVE_MARK ?= live
pytest: check-chromium venv compile ## the whole pytest suite, without ruff
	$(BIN)/pytest -q -n $(WORKERS) -m "not live" $(PYTEST_ARGS)
	$(BIN)/pytest -q -m "$(LIVE_MARK)" $(PYTEST_ARGS)

test-browser: check-chromium venv compile ## Only the browser journeys (headless Chromium)
	$(BIN)/pytest -q $(PYTEST_ARGS) tests/browser

# The suite fuzzes the API briefly (tests/test_api_schemathesis.py); this runs it longer:
# boundary cases as every role, more generated cases, longer stateful scenarios.
FUZZ_EXAMPLES ?= 50
FUZZ_SCENARIOS ?= 100
FUZZ_STEPS ?= 15
fuzz: venv compile ## Fuzz the API longer than the suite does (every role, stateful; minutes)
	VHS_FUZZ_DEEP=1 VHS_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) VHS_FUZZ_SCENARIOS=$(FUZZ_SCENARIOS) \
	  VHS_FUZZ_STEPS=$(FUZZ_STEPS) $(BIN)/pytest -q -n $(WORKERS) $(PYTEST_ARGS) \
	  tests/test_api_schemathesis.py

lint: venv ## ruff check, format check and the layering contracts (lint-imports)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: venv ## Reformat and apply safe fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: venv compile ## Load and scale benchmarks (python -m bench)
	$(BIN)/python -m bench $(BENCH_ARGS)

clean: ## Remove caches, compiled catalogs and test artefacts (keeps .venv and instance/)
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
	rm -rf .pytest_cache .ruff_cache .hypothesis test-artifacts bench/_work *.egg-info
	rm -f $(POT) $(TRANSLATIONS)/*/LC_MESSAGES/*.mo

distclean: clean ## Also remove .venv
	rm -rf $(VENV)
