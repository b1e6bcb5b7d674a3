# Two commands do all the set-up on a fresh machine with Python 3.11+:
#   make run   - virtualenv, migrations, demo data, http://127.0.0.1:8000 (SQLite, eager Celery)
#   make test  - the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
# make run is the local demo: SQLite and tasks run in-process, whatever the shell exports.
DEV_ENV := env -u DATABASE_URL -u REDIS_URL DJANGO_ENV=development

.PHONY: run test lint audit format migrations worker beat clean bench-load

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11 or newer is needed"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime-installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime-installed

run: $(VENV)/.runtime-installed
	$(DEV_ENV) $(MANAGE) migrate --noinput
	$(DEV_ENV) $(MANAGE) seed_demo
	@echo "Serving on http://127.0.0.1:8000 (Ctrl+C to stop)"
	$(DEV_ENV) $(MANAGE) runserver 127.0.0.1:8000

# One pytest process per core (pytest-xdist); run a single file with .venv/bin/pytest FILE.
test: $(VENV)/.dev-installed
	$(BIN)/pytest -n auto

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DJANGO_ENV=test $(MANAGE) makemigrations --check --dry-run

# Security checks. bandit: the shipped code with every check (pyproject.toml says why the
# few accepted findings are), then the tests and bench/ without the checks that do not fit
# test code (assert, fixed test passwords, made-up random data, subprocess of sys.executable).
# pip-audit: known vulnerabilities in the pinned requirements (.ci/pip-audit).
AUDIT_TEST_PATHS := $(wildcard */tests) tests bench conftest.py
audit: $(VENV)/.dev-installed
	$(BIN)/bandit -c pyproject.toml -r . -q
	$(BIN)/bandit -r $(AUDIT_TEST_PATHS) -s B101,B105,B106,B311,B404,B603 -q
	BIN=$(BIN) .ci/pip-audit

format: $(VENV)/.dev-installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrations: $(VENV)/.dev-installed
	DJANGO_ENV=test $(MANAGE) makemigrations

# With REDIS_URL set (and the same DATABASE_URL as the web server):
worker: $(VENV)/.runtime-installed
	DJANGO_ENV=$${DJANGO_ENV:-development} $(BIN)/celery -A config worker --loglevel=INFO

beat: $(VENV)/.runtime-installed
	DJANGO_ENV=$${DJANGO_ENV:-development} $(BIN)/celery -A config beat --loglevel=INFO

# p50/p95 of the main pages under load on seed_scale data (bench/README.md). ARGS="--db postgres"
$(VENV)/.bench-installed: requirements.txt requirements-bench.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-bench.txt
	touch $@

bench-load: $(VENV)/.bench-installed
	$(BIN)/python bench/load.py $(ARGS)

clean:
	rm -rf $(VENV) staticfiles
