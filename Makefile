# Everything runs from a local virtualenv built from the pinned requirements.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run invoke test lint typecheck bench schema schema-check check-stack stack-zip clean

CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

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

# checkov lives in its own virtualenv: its dependencies are pinned apart from the function's.
$(CHECKOV_STAMP): deploy/requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r deploy/requirements-checkov.txt
	touch $(CHECKOV_STAMP)

## make check-stack: the deploy stack (deploy/terraform) checked without terraform, then checkov's Terraform checks
check-stack: $(STAMP) $(CHECKOV_STAMP)
	$(PY) -m deploy.check_stack
	BC_SKIP_MAPPING=TRUE $(CHECKOV_VENV)/bin/checkov --directory deploy/terraform --framework terraform \
		--skip-download --quiet --compact --config-file deploy/checkov.yaml

## make stack-zip: the Resource Manager zip (.local/volume-backup-stack.zip) of deploy/terraform
stack-zip: $(STAMP)
	mkdir -p .local
	rm -f .local/volume-backup-stack.zip
	cd deploy/terraform && ../../$(PY) -m zipfile -c ../../.local/volume-backup-stack.zip *.tf schema.yaml
	@echo "Resource Manager zip: .local/volume-backup-stack.zip"

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) .pytest_cache .mypy_cache .ruff_cache .local
