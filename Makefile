# Everything runs from a local virtualenv built from the pinned requirements.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
REQUIREMENTS ?= requirements-dev.txt

.PHONY: help run invoke test lint typecheck bench bench-sweep cold-path schema schema-check check-stack stack-zip cli-check python-version clean

CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

## make help: the targets, the variables they take, and how long they take (here, on 2 cores)
##
## The targets that run Python build .venv first when it is missing (about 1.5 min), with
##   PYTHON=python3                     the interpreter it is made with (Python 3.11 or newer)
##   REQUIREMENTS=requirements-dev.txt  the pinned requirements it installs
##
help:
	@sed -n 's/^## //p; s/^##$$//p' $(MAKEFILE_LIST)

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

## make run: every sample in events/ sent to the function (the real fdk, a local OCI emulator),
##   then a backup's whole lifecycle, then the failure messages and metrics (about 5 s)
run: $(STAMP)
	@$(PY) -m localoci.run_samples

## make invoke EVENT=<file.json> [DELIVERY=…] [HEADERS=…] [MESSAGE_ID=…] [CONFIG=…] [LOG=1]:
##   one payload (a sample or your own) and the whole answer
##   EVENT       the JSON body to send
##   DELIVERY    direct | events | notifications | api-gateway (default: the sample's own, else direct)
##   HEADERS     the caller's headers, 'opc-retry-token: abc; X-Team: dba' (API Gateway: Fn-Http-H-…)
##   MESSAGE_ID  deliver as Notifications with this X-OCI-NS-MessageId (no other DELIVERY with it)
##   CONFIG      function config over make run's, 'KEEP_LAST=1 PRUNE_DRY_RUN=true'
##   LOG=1       after the answer, the function's log lines for this call
invoke:
	@test -n "$(EVENT)" || { echo "usage: make invoke EVENT=<file.json> [DELIVERY=...] [HEADERS=...] [MESSAGE_ID=...] [CONFIG=...] [LOG=1] (make help)" >&2; exit 2; }
	@test -f "$(EVENT)" || { echo "make invoke: $(EVENT): no such file" >&2; exit 2; }
	@$(MAKE) --no-print-directory --silent $(STAMP)
	@$(PY) -m localoci.run_samples --invoke "$(EVENT)" $(if $(DELIVERY),--delivery "$(DELIVERY)",) \
		$(if $(HEADERS),--headers "$(HEADERS)",) $(if $(MESSAGE_ID),--message-id "$(MESSAGE_ID)",) $(if $(CONFIG),--config "$(CONFIG)",) \
		$(if $(filter-out 0 no false,$(LOG)),--log,)

## make test: unit, emulator, functional and deploy-stack tests (about 4 min)
test: $(STAMP)
	$(PY) -m pytest -q

## make lint, make typecheck: ruff and mypy (strict); .ci/run runs these and the checks below
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

## make bench: cold start, warm latency and memory against a bare fdk function (about 20 min;
##   it rewrites bench/results.json and the README's table)
bench: $(STAMP)
	$(PY) -m bench.run
	$(PY) -m bench.sweep

## make bench-sweep: the sweep alone (about a minute): 2,000 volumes, 1,000 beyond RPO, creates
##   limited to 40 a second, fanned out over 4 fdk processes; it rewrites bench/sweep.json
bench-sweep: $(STAMP)
	$(PY) -m bench.sweep

## make cold-path: where the cold start goes, step by step, in instructions counted by valgrind
##   (they repeat; milliseconds do not)
cold-path: $(STAMP)
	$(PY) -m bench.cold_path

## make schema: the JSON Schema of every answer, written to schema/answers.schema.json
##   (API Gateway clients read it)
schema: $(STAMP)
	$(PY) -m tools.answers_schema

schema-check: $(STAMP)
	$(PY) -m tools.answers_schema --check

# checkov lives in its own virtualenv: its dependencies are pinned apart from the function's.
$(CHECKOV_STAMP): deploy/requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r deploy/requirements-checkov.txt
	touch $(CHECKOV_STAMP)

## make check-stack: the deploy stack (deploy/terraform) checked without terraform, then checkov's
##   Terraform checks (checkov in its own virtualenv, .venv-checkov)
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

## make cli-check: the official OCI CLI against the emulator: list, get, copy, delete; the CLI
##   has a virtualenv of its own, and is then .venv-cli/bin/oci (README: Running it by hand)
cli-check: $(STAMP) $(CLI_STAMP)
	OCI_CLI=$(CURDIR)/$(CLI_VENV)/bin/oci $(PY) -m pytest -q tests/emulator/test_oci_cli.py

## make clean: remove .venv, .venv-checkov, .venv-cli, tool caches and .local
##   (the next make builds them again)
clean:
	rm -rf $(VENV) $(CHECKOV_VENV) $(CLI_VENV) .pytest_cache .mypy_cache .ruff_cache .local
