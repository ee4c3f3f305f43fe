# The two commands: `make run` (demo) and `make test` (everything). See README.md.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: run test bench lint format install install-dev clean lock image image-demo deploy-check backup image-rehearsal

$(VENV)/.runtime: requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements.txt
	@touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements-dev.txt
	@touch $(VENV)/.runtime $@

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

run: install
	@bash scripts/run.sh

test: install-dev
	@bash scripts/test.sh

bench: install-dev
	@bash scripts/bench.sh

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install-dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf .data staticfiles artifacts

# Packaging (README.md, "Deploy"). lock: re-make the hash-locked requirement sets after a pin
# changes. image/image-demo need a Docker engine. deploy-check: the offline checks of the
# Dockerfile, compose file, Helm chart, .env.example and backup scripts (tests/deploy).
lock:
	@bash scripts/lock-requirements

image:
	docker build --target production -t $${PORTAL_IMAGE:-csp-portal:latest} .

image-demo:
	docker build --target demo -t $${PORTAL_DEMO_IMAGE:-csp-portal-demo:latest} .

deploy-check: install-dev
	DJANGO_SETTINGS_MODULE=portal.settings.test \
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/portal} \
	REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/15} \
	$(VENV)/bin/pytest tests/deploy -q

backup:
	@bash deploy/backup/backup.sh

# The production image's build and start without Docker (scripts/image-rehearsal).
image-rehearsal:
	@bash scripts/image-rehearsal
