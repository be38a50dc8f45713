# Coda: `make run` (embedded defaults, no servers) and `make test`.
SHELL := /bin/bash
PORT ?= 8000
HOST ?= 127.0.0.1
UV := $(shell command -v uv 2>/dev/null)
ifeq ($(UV),)
UV := python3 -m uv
endif
PY := .venv/bin/python

.PHONY: install run test bench superuser migrate worker lint clean

install:
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --frozen --python 3.11

migrate: install
	mkdir -p var/staging var/storage
	$(PY) manage.py migrate --no-input
	$(PY) manage.py import_deprecations

run: migrate
	@echo "Starting Coda worker and web server..."
	@set -m; \
	$(PY) -m celery -A config worker --beat --schedule var/celerybeat-schedule --loglevel INFO --concurrency 2 --pool prefork & WORKER=$$!; \
	trap 'kill $$WORKER 2>/dev/null; wait $$WORKER 2>/dev/null' EXIT INT TERM; \
	echo ""; echo "  Coda is running at http://$(HOST):$(PORT)/  (API: /api/v1/, docs: /api/docs/, admin: /admin/)"; \
	echo "  Create an admin user with: make superuser"; echo ""; \
	$(PY) manage.py runserver $(HOST):$(PORT) --noreload

worker: install
	$(PY) -m celery -A config worker --loglevel INFO

superuser: install
	$(PY) manage.py createsuperuser

test: install
	$(UV) run --frozen pytest $(PYTEST_ARGS)

bench: install
	$(PY) benchmarks/ingest.py
	$(PY) benchmarks/audit.py
	$(PY) benchmarks/api_scale.py

clean:
	rm -rf var .pytest_cache
