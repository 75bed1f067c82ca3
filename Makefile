# Shipshape: `make run` serves the demo, `make test` runs the whole suite. See README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
PORT ?= 8000
BIN := $(VENV)/bin
# The suite runs on PostgreSQL; override DATABASE_URL to point elsewhere.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/shipshape

# The first Python >= 3.12 found: $PYTHON if set, then python3.14 ... python3 on PATH, then pyenv's versions.
# (A pyenv shim on PATH may exist yet fail to run, so every candidate is actually executed.)
FIND_PYTHON := for c in $${PYTHON:-} python3.14 python3.13 python3.12 python3 \
	  $$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -rV); do \
	  if [ -n "$$c" ] && "$$c" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then \
	    "$$c" -c 'import sys; print(sys.executable)'; exit 0; fi; \
	done; echo "No Python 3.12 or newer found; install one or set PYTHON=/path/to/python3.12" >&2; exit 1

.PHONY: help
help:
	@echo "make run      install into $(VENV), migrate, load demo data and serve on http://127.0.0.1:$(PORT)"
	@echo "make test     install the test tools and run the whole suite (PostgreSQL, Redis, chromium)"
	@echo "make lint     ruff check"
	@echo "make worker   a Celery worker (needs REDIS_URL)      make beat   the Celery scheduler"
	@echo "make messages extract translatable texts into locale/"

$(BIN)/python:
	@py=$$($(FIND_PYTHON)) && echo "Creating $(VENV) with $$py" && "$$py" -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e ".[test]"
	@touch $@

.PHONY: install
install: $(VENV)/.installed

.PHONY: run
run: $(VENV)/.installed
	@mkdir -p var/mail
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py seed_demo
	@echo ""
	@echo "  Shipshape is starting on http://127.0.0.1:$(PORT)/"
	@echo "  Dashboard: http://127.0.0.1:$(PORT)/dashboard/  owner@demo.shop / shipshape-demo"
	@echo "             (second shop: owner@other.shop; admin of every shop, also /admin/: admin@demo.shop)"
	@echo "  Buyers:    http://127.0.0.1:$(PORT)/track/  (an order number and its email, or a link from any email)"
	@echo "  Mail is written to var/mail/"
	@echo ""
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

.PHONY: test
test: $(VENV)/.installed-test
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} $(BIN)/python -m pytest --create-db $(PYTEST_ARGS)

.PHONY: lint
lint: $(VENV)/.installed-test
	$(BIN)/ruff check .

.PHONY: worker
worker: $(VENV)/.installed
	$(BIN)/celery -A shop worker --loglevel=INFO --pool threads --concurrency 8

.PHONY: beat
beat: $(VENV)/.installed
	$(BIN)/celery -A shop beat --loglevel=INFO

.PHONY: messages
messages: $(VENV)/.installed
	$(BIN)/python manage.py makemessages --all --ignore=.venv --ignore=var || \
	  echo "makemessages needs GNU gettext (apt-get install gettext)"

.PHONY: clean
clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .hypothesis
