# The hotline's two commands: `make run` and `make test`. Everything else is what they need.
VENV ?= .venv
PYTHON ?= python3
HOTLINE := $(VENV)/bin/hotline

.PHONY: install deps run stop status test test-unit bench lint

install: deps $(VENV)/.installed

deps:
	./scripts/install-deps.sh

$(VENV)/.installed: pyproject.toml | deps
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q -e '.[dev]'
	touch $@

run: install
	$(HOTLINE) up --demo

stop:
	$(HOTLINE) down

status:
	$(HOTLINE) status

test: install
	./scripts/install-asterisk22.sh
	$(VENV)/bin/pytest -n 4 --durations=12

test-unit: $(VENV)/.installed
	$(VENV)/bin/pytest tests/unit

bench: install
	$(VENV)/bin/python -m bench.fastagi_turnaround
	$(VENV)/bin/python -m bench.records_lookups
	$(VENV)/bin/python -m bench.ivr_latency
	$(VENV)/bin/python -m bench.acd_decision
	$(VENV)/bin/python -m bench.acd_latency $$([ "$$(id -u)" = 0 ] || echo --no-wire)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
