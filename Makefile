# Guanxi CRM — the two commands are `make run` and `make test`; everything else is a step of them.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export AMQP_URI ?= amqp://guest:guest@127.0.0.1:5672/
export RABBIT_API_URI ?= http://guest:guest@127.0.0.1:15672
export PYTHONUNBUFFERED := 1

.PHONY: venv broker migrate run up down test test-unit seed bench clean

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt libs/common/pyproject.toml services/*/pyproject.toml
	@command -v $(PYTHON) >/dev/null || PYTHON=python3; \
	 if [ ! -x $(BIN)/python ]; then \
	   $$(command -v $(PYTHON) || command -v python3) -m venv $(VENV) || { \
	     echo "python venv module missing: run 'apt-get install -y python3-venv' (as root)"; exit 1; }; \
	 fi
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e libs/common $(foreach s,$(wildcard services/*/pyproject.toml),-e $(dir $(s)))
	@touch $(STAMP)

broker:
	@bash scripts/ensure_broker.sh

migrate: venv
	$(BIN)/python -m guanxi_common.migrate --all

test: venv broker
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) var/*.db var/*.db-* .pytest_cache
