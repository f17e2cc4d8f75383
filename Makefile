# The hotline's two commands: `make run` and `make test`. Everything else is what they need.
VENV ?= .venv
PYTHON ?= python3
HOTLINE := $(VENV)/bin/hotline

.PHONY: install deps run stop status test test-unit soak bench lint screenshots

install: deps $(VENV)/.installed

deps:
	./scripts/install-deps.sh

$(VENV)/.installed: pyproject.toml Makefile | deps
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q -e '.[dev,speech]'
	touch $@

run: install
	$(HOTLINE) up --demo

stop:
	$(HOTLINE) down

status:
	$(HOTLINE) status

test: install
	./scripts/install-asterisk22.sh
	$(VENV)/bin/pytest -n 4 --durations=12 -m "not soak"

# The long runs: the 1,000-call soak and the repeated fault loops (tests marked soak); -rP shows
# what each printed (its figures) in the summary, xdist keeping it otherwise.
soak: install
	./scripts/install-asterisk22.sh
	HOTLINE_SOAK_CALLS=1000 $(VENV)/bin/pytest -n 2 -rP tests/e2e/test_soak.py
	$(VENV)/bin/pytest -n 2 -rP -m soak || [ $$? = 5 ]  # 5: no test marked soak

test-unit: $(VENV)/.installed
	$(VENV)/bin/pytest tests/unit

bench: install
	$(VENV)/bin/python -m bench.fastagi_turnaround
	$(VENV)/bin/python -m bench.records_lookups
	$(VENV)/bin/python -m bench.ivr_latency
	$(VENV)/bin/python -m bench.acd_decision
	$(VENV)/bin/python -m bench.acd_simulation
	$(VENV)/bin/python -m bench.desk_pop
	$(VENV)/bin/python -m bench.speech_rtf
	$(VENV)/bin/python -m bench.acd_latency $$([ "$$(id -u)" = 0 ] || echo --no-wire)
	$(VENV)/bin/python -m bench.sip_flood $$([ "$$(id -u)" = 0 ] || echo --sip-guard off)

# Pictures of the web pages (login, an operator's desk with a ringing caller, a search, the daily
# report, a district company's portal), in var/screenshots/: headless Chromium on a private
# Redis and records, no Asterisk.
screenshots: install
	$(VENV)/bin/python -m tests.screenshots var/screenshots

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
