# icpsite: `make run` serves the demo, `make test` runs the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PIP_FLAGS := --quiet --disable-pip-version-check
# Test processes run side by side (pytest-xdist); 0 runs the suite in this one.
TEST_WORKERS ?= 2

.DEFAULT_GOAL := help
.PHONY: help install install-dev run test test-integration lint typecheck worker beat web clean

help:
	@echo "make run               install, migrate SQLite, seed the demo and serve http://127.0.0.1:8000"
	@echo "make test              run the whole test suite (PostgreSQL when DATABASE_URL points at one)"
	@echo "make lint / typecheck  ruff and the import contracts, mypy"
	@echo "make web|worker|beat   the full stack's processes (set DATABASE_URL and REDIS_URL first)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install $(PIP_FLAGS) --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install $(PIP_FLAGS) -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install $(PIP_FLAGS) -e ".[dev]"
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: $(VENV)/.installed
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	@echo
	@echo "icpsite is starting on http://127.0.0.1:8000/  (sign in as ada / icpsite-demo; stop with Ctrl-C)"
	@echo
	DEBUG=true $(BIN)/python manage.py runserver 127.0.0.1:8000

test: $(VENV)/.installed-dev
	$(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy .

web: $(VENV)/.installed
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput
	$(BIN)/gunicorn icpsite.wsgi --bind 127.0.0.1:8000 --workers 3

worker: $(VENV)/.installed
	$(BIN)/celery -A icpsite worker --loglevel=INFO -Q default,scoring

beat: $(VENV)/.installed
	$(BIN)/celery -A icpsite beat --loglevel=INFO

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .mypy_cache .ruff_cache
