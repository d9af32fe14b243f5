# Everything runs from a local virtualenv built from the pinned requirements.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run invoke test lint typecheck bench schema schema-check clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

## make run: the function under the real fdk, against the local Core Services emulator, every sample in events/
run: $(STAMP)
	$(PY) -m localoci.run_samples

## make invoke EVENT=events/<file>.json: one payload, the full answer
invoke: $(STAMP)
	@test -n "$(EVENT)" || (echo "usage: make invoke EVENT=events/<file>.json [DELIVERY=direct|events|notifications|api-gateway]" && exit 2)
	$(PY) -m localoci.run_samples --invoke $(EVENT) $(if $(DELIVERY),--delivery $(DELIVERY),)

test: $(STAMP)
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

## make bench: cold start, warm latency and memory against a bare fdk function
bench: $(STAMP)
	$(PY) -m bench.run

## make schema: the JSON Schema of every answer, written to schema/answers.schema.json (API Gateway clients read it)
schema: $(STAMP)
	$(PY) -m tools.answers_schema

schema-check: $(STAMP)
	$(PY) -m tools.answers_schema --check

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .local
