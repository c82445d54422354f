# Guanxi CRM — the two commands are `make run` and `make test`; everything else is a step of them.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export AMQP_URI ?= amqp://guest:guest@127.0.0.1:5672/
export RABBIT_API_URI ?= http://guest:guest@127.0.0.1:15672
export PYTHONUNBUFFERED := 1

# make run SERVICES=customer       run only these (comma-separated)
SERVICES ?=
# make test PYTEST_ARGS="-k outbox -x"
PYTEST_ARGS ?=
# make seed N=100000
N ?= 1000
# make dlq SERVICE=customer, make image SERVICE=sales
SERVICE ?= customer
# make service NAME=service_desk PORT=8103
NAME ?=
PORT ?=
# make image IMAGE_TAG=0.2.0
IMAGE_TAG ?= 0.1.0
# make export FORMAT=csv > customers.csv   (BOM=1: with the UTF-8 byte order mark, for Excel)
FORMAT ?= jsonl
BOM ?=

SUPERVISE := $(BIN)/python scripts/supervise.py $(if $(SERVICES),--only $(SERVICES))

.DEFAULT_GOAL := help
.PHONY: help venv broker migrate gateway-admin run up down status test test-unit seed bench export dlq dlq-redrive clean service image

help: ## list the targets
	@echo "Guanxi CRM. On a fresh machine: 'make run' (start everything) and 'make test' (whole suite)."
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## (.*)/  make \1\t\2/' | expand -t 22

venv: $(STAMP) ## create .venv and install the pinned packages (python3.11, python3-venv via apt if needed)

$(STAMP): requirements.txt requirements-dev.txt libs/common/pyproject.toml services/*/pyproject.toml
	@PYTHON=$(PYTHON) VENV=$(VENV) bash scripts/ensure_python.sh
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e libs/common $(foreach s,$(wildcard services/*/pyproject.toml),-e $(dir $(s)))
	@touch $(STAMP)

broker: ## make sure RabbitMQ (+ management API) answers; installs/starts a local one if needed
	@bash scripts/ensure_broker.sh

migrate: venv ## apply every service's migrations
	$(BIN)/python -m guanxi_common.migrate --all

run: venv broker migrate gateway-admin ## run every service in the foreground; Ctrl-C stops them
	$(SUPERVISE)

up: venv broker migrate gateway-admin ## start every service in the background; returns when all answer /readyz
	$(SUPERVISE) --detach

gateway-admin: venv ## the gateway's first admin (ADMIN_USERNAME / ADMIN_PASSWORD; a generated password is printed once)
	@$(BIN)/python -m gateway.bootstrap

down: ## stop what 'make up' started
	@if [ -x $(BIN)/python ]; then $(BIN)/python scripts/supervise.py --stop; \
	 else python3 scripts/supervise.py --stop; fi

status: ## show which background services run and are ready
	@$(SUPERVISE) --status

# Nameko's pytest plugin makes a throwaway vhost per test on this broker / management API.
PYTEST_BROKER := --amqp-uri='$(AMQP_URI)' --rabbit-api-uri='$(RABBIT_API_URI)'

test: venv broker ## the whole suite against the real broker (PYTEST_ARGS=...)
	$(BIN)/python -m pytest $(PYTEST_BROKER) $(PYTEST_ARGS)

test-unit: venv ## only the tests that need neither broker nor processes
	$(BIN)/python -m pytest $(PYTEST_BROKER) -m "not integration and not slow and not postgres" $(PYTEST_ARGS)

seed: venv broker migrate ## load demo customers and their sales history (N=1000 by default), demo users per role
	$(BIN)/python scripts/seed.py --count $(N)
	@$(BIN)/python -m gateway.bootstrap --demo-users

bench: venv broker migrate ## run the benchmarks; writes bench/results.json
	$(BIN)/python bench/run.py

export: venv ## stream the customer export to stdout (FORMAT=jsonl|csv, BOM=1; needs the service running)
	@$(BIN)/python -m customer.tools.export_cli --format $(FORMAT) $(if $(BOM),--bom)

dlq: venv broker ## list the messages parked on a service's DLQ (SERVICE=customer)
	$(BIN)/python -m guanxi_common.dlq_cli list $(SERVICE)

dlq-redrive: venv broker ## re-drive a service's parked messages (SERVICE=customer)
	$(BIN)/python -m guanxi_common.dlq_cli redrive $(SERVICE) --all

service: ## create a new service from the template (NAME=<name> PORT=<port>), then install it
	@test -n "$(NAME)" -a -n "$(PORT)" || { echo "usage: make service NAME=<name> PORT=<port>"; exit 2; }
	python3 scripts/new_service.py $(NAME) $(PORT)
	@$(MAKE) --no-print-directory venv

image: ## build a service's container image with docker (SERVICE=customer, IMAGE_TAG=0.1.0)
	docker build -f deploy/Dockerfile --build-arg SERVICE=$(SERVICE) \
	  --build-arg HTTP_PORT=$$(PYTHONPATH=libs/common python3 -c "from guanxi_common.config import DEFAULT_HTTP_PORTS as p; print(p['$(SERVICE)'])") \
	  $(if $(filter gateway,$(SERVICE)),--target gateway) -t guanxi/$(subst _,-,$(SERVICE)):$(IMAGE_TAG) .

clean: ## remove the virtualenv, the SQLite files, logs and pid files under var/
	rm -rf $(VENV) var/*.db var/*.db-* var/log var/run .pytest_cache
