# Extranet Partenaires — `make run` to start everything, `make test` to run the suite.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PORT ?= 5000
export PORTAL_VAR_DIR ?= $(CURDIR)/var

.PHONY: run test lint install install-dev assets migrate seed worker web clean bench

$(VENV)/bin/activate:
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/activate
	$(PIP) install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(VENV)/bin/activate
	$(PIP) install -q -e '.[dev]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# Front-end assets (DSFR, htmx, chart library, axe-core for tests) come from the npm registry at
# setup time and are copied under portal/static (not committed).
assets: portal/static/dsfr/dsfr.min.css
portal/static/dsfr/dsfr.min.css: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	bash scripts/copy_assets.sh
	touch $@

migrate: install
	$(VENV)/bin/portal migrate

seed: migrate
	$(VENV)/bin/portal seed-demo

# One command: web app on 127.0.0.1:$(PORT) + a real Celery worker with its beat, on the
# embedded defaults (SQLite + SQLAlchemy broker under var/). Ctrl-C stops everything.
run: install assets seed
	@echo "Extranet Partenaires : http://127.0.0.1:$(PORT)  (Ctrl-C pour arrêter)"
	@VENV=$(VENV) PORT=$(PORT) exec bash scripts/run.sh

# The whole suite. Uses TEST_DATABASE_URL / TEST_CELERY_BROKER_URL when set (CI sets them to
# PostgreSQL and Redis for its second run), else SQLite and the embedded broker.
# pytest's exit code 5 (no test collected) is a failure with its own message: an empty run
# must never pass for a green one.
lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

test: install-dev assets lint
	@$(VENV)/bin/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test : aucun test collecté (code 5 de pytest) — vérifier PYTEST_ARGS." >&2; fi; \
	exit $$rc

bench: install-dev
	@echo "Voir bench/README.md pour chaque banc d'essai."

clean:
	rm -rf var/ .pytest_cache
