# Everything runs from a local virtualenv built from the pinned requirements.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
REQUIREMENTS ?= requirements-dev.txt

.PHONY: help run invoke test lint typecheck bench cold-path schema schema-check check-stack stack-zip cli-check python-version clean

CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

## make help: the targets and the variables they take
help:
	@sed -n 's/^## //p' $(MAKEFILE_LIST)

python-version:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "make: $(PYTHON) not found; this project needs Python 3.11 or newer (make ... PYTHON=python3.12)" >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || { \
		echo "make: this project needs Python 3.11 or newer; $(PYTHON) is $$($(PYTHON) -c 'import platform; print(platform.python_version())') (choose another with PYTHON=python3.12)" >&2; exit 1; }

# A half-built .venv (an install that failed or was interrupted) is removed, never reused: the stamp is written last.
$(STAMP): requirements.txt requirements-dev.txt
	@$(MAKE) --no-print-directory python-version
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r $(REQUIREMENTS) || { rm -rf $(VENV); echo "make: installing $(REQUIREMENTS) failed; .venv removed, nothing half-built is left" >&2; exit 1; }
	touch $(STAMP)

## make run: the function under the real fdk, against the local OCI emulator, every sample in events/ and the lifecycle chain
run: $(STAMP)
	$(PY) -m localoci.run_samples

## make invoke EVENT=<file.json> [DELIVERY=direct|events|notifications|api-gateway] [HEADERS='opc-retry-token: abc; X-Other: v']
##             [MESSAGE_ID=<id>] [CONFIG='BACKUP_TYPE=FULL KEEP_LAST=3']: one payload (a sample or your own), the whole answer
invoke:
	@test -n "$(EVENT)" || { echo "usage: make invoke EVENT=<file.json> [DELIVERY=...] [HEADERS=...] [MESSAGE_ID=...] [CONFIG=...] (make help)" >&2; exit 2; }
	@test -f "$(EVENT)" || { echo "make invoke: $(EVENT): no such file" >&2; exit 2; }
	@$(MAKE) --no-print-directory $(STAMP)
	$(PY) -m localoci.run_samples --invoke "$(EVENT)" $(if $(DELIVERY),--delivery "$(DELIVERY)",) \
		$(if $(HEADERS),--headers "$(HEADERS)",) $(if $(MESSAGE_ID),--message-id "$(MESSAGE_ID)",) $(if $(CONFIG),--config "$(CONFIG)",)

## make test: unit, emulator, functional and deploy-stack tests
test: $(STAMP)
	$(PY) -m pytest -q

## make lint, make typecheck: ruff and mypy (strict); .ci/run runs these and the checks below
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

## make bench: cold start, warm latency and memory against a bare fdk function
bench: $(STAMP)
	$(PY) -m bench.run

## make cold-path: where the cold start goes, step by step, in instructions counted by valgrind (they repeat; milliseconds do not)
cold-path: $(STAMP)
	$(PY) -m bench.cold_path

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

CLI_VENV := .venv-cli
CLI_STAMP := $(CLI_VENV)/.installed

$(CLI_STAMP): localoci/requirements-cli.txt
	rm -rf $(CLI_VENV)
	$(PYTHON) -m venv $(CLI_VENV)
	$(CLI_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r localoci/requirements-cli.txt || { rm -rf $(CLI_VENV); exit 1; }
	touch $(CLI_STAMP)

## make cli-check: the official OCI CLI (its own virtualenv) against the emulator: list, get, copy, delete
cli-check: $(STAMP) $(CLI_STAMP)
	OCI_CLI=$(CURDIR)/$(CLI_VENV)/bin/oci $(PY) -m pytest -q tests/emulator/test_oci_cli.py

## make clean: remove .venv, .venv-checkov, .venv-cli, tool caches and .local (the next make builds them again)
clean:
	rm -rf $(VENV) $(CHECKOV_VENV) $(CLI_VENV) .pytest_cache .mypy_cache .ruff_cache .local
