# Two commands from a fresh clone (DECISIONS §7): `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export PORT

.PHONY: run worker test install install-dev migrate lint bench bench-smoke fuzz fault topology audit clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit("Python >= 3.11 is required") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed-runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@ $(VENV)/.installed-runtime

install: $(VENV)/.installed-runtime
install-dev: $(VENV)/.installed-dev

migrate: install
	$(BIN)/python manage.py migrate --noinput

## Serve the API and admin on 127.0.0.1:$(PORT) with gunicorn and the embedded SQLite database,
## with the Celery worker (webhooks and jobs, docs/events.md) beside it; it stops with gunicorn.
run: migrate
	$(BIN)/python manage.py collectstatic --noinput -v0
	$(BIN)/python manage.py seed_demo --show-login
	@mkdir -p .celery && echo "Worker (webhooks, jobs): python -m lms.worker, log in .celery/worker.log"
	$(BIN)/python -m lms.worker >>.celery/worker.log 2>&1 & worker=$$!; \
	  trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	  $(BIN)/gunicorn -c lms/gunicorn.conf.py lms.wsgi

## The Celery worker with its scheduler (beat), in the foreground, for development (docs/events.md).
worker: migrate
	$(BIN)/python -m lms.worker

## The whole suite on SQLite; with DATABASE_URL=postgres://... the same suite on PostgreSQL.
test: install-dev
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .

bench: install-dev
	$(BIN)/python -m bench.run $(BENCH_ARGS)

bench-smoke: install-dev
	$(BIN)/python -m bench.run --smoke $(BENCH_ARGS)

## Schemathesis against a live gunicorn on a fresh PostgreSQL database (docs/reliability.md).
FUZZ_EXAMPLES ?= 100
fuzz: install-dev
	$(BIN)/python -m tests.reliability.fuzz --examples $(FUZZ_EXAMPLES) $(FUZZ_ARGS)

## nginx over two gunicorn instances, PgBouncer (transaction mode), Redis and a Celery worker on loopback,
## then its three proofs (docs/scaling.md). Installs Debian's nginx and pgbouncer when missing (as root).
## LMS_PORTBASE (18900), LMS_TOPOLOGY_DATABASE (lms_topology, recreated), LMS_TOPOLOGY_REDIS_URL (db 11, flushed).
topology: install-dev
	$(BIN)/python -m topology.run $(TOPOLOGY_ARGS)

## PostgreSQL unavailable under write load (also part of the suite on PostgreSQL).
fault: install-dev
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/lms} $(BIN)/pytest -s tests/reliability/test_pg_fault.py

## Known vulnerabilities in the pinned requirements; fails too when a dependency could not be audited
## (AUDIT_ALLOW_UNAUDITED=1 only warns about those, and still fails on a known vulnerability).
audit: install-dev
	$(BIN)/pip-audit -r requirements.txt -r requirements-dev.txt --progress-spinner off $(if $(AUDIT_ALLOW_UNAUDITED),,--strict)

clean:
	rm -rf $(VENV) db.sqlite3* staticfiles schemathesis-report .schemathesis .celery
