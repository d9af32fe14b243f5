"""`make run` and `make invoke` as a newcomer runs them: their own emulator, identity and fdk server."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from localoci.harness import REPO
from localoci.samples import load_samples

pytestmark = pytest.mark.functional


MAKE = shutil.which("make") or "make"


def make(*args: str, cwd: Path = REPO, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([MAKE, "--no-print-directory", *args], cwd=cwd, capture_output=True, text=True, timeout=180, env=env)


def run_samples(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "localoci.run_samples", *args], cwd=REPO, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def make_run() -> list[str]:
    done = make("run")
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.splitlines()


def block(lines: list[str], heading: str) -> list[str]:
    """The lines from the one starting with `heading` to the next blank line or section."""
    start = next(number for number, line in enumerate(lines) if line.startswith(heading))
    end = next((number for number in range(start + 1, len(lines)) if not lines[number].startswith(" ")), len(lines))
    return lines[start:end]


def test_make_run_sends_every_sample_and_shows_the_backups(make_run):
    lines = make_run
    assert any(line.startswith("ok") and " created …volumebackup…" in line for line in lines)
    assert any(line.startswith("ok") and " created …bootvolumebackup…" in line for line in lines)
    assert not any(line.startswith("FAIL") for line in lines)
    assert lines[-1] == f"{len(load_samples()) + 3} passed, 0 failed"  # the samples, the chain, the restore test, the sweep


def test_make_run_fits_a_100_column_terminal_under_a_header_row(make_run):
    assert [line for line in make_run if len(line) > 100] == []
    assert not any(re.search(r"ocid1\.\w+\.oc1\.", line) for line in make_run), "an OCID printed in full"
    (header,) = (line for line in make_run if line.startswith("check "))
    assert header.split() == ["check", "sample", "via", "http", "answer"]
    assert not make_run[0].startswith(".venv"), "make echoed its recipe"


def test_make_run_reads_an_expected_client_error_as_a_rejection(make_run):
    assert not any(line.startswith("ok") and "error" in line.lower() for line in make_run)
    for s in load_samples():
        if s.expect["outcome"] == "error":
            (line,) = (line for line in make_run if line.startswith(f"ok    {s.name.removesuffix('.json')} "))
            assert line.endswith(f" rejected {s.expect['code']}"), line


def test_make_run_names_the_sample_behind_each_failure_message(make_run):
    names = {s.name.removesuffix(".json"): s for s in load_samples()}
    _heading, columns, *messages = block(make_run, "Notifications: ")
    assert columns.split()[:3] == ["published", "by", "willRetry"]
    assert messages
    for line in messages:
        sender, _will_retry, title = line.split(maxsplit=2)
        assert sender in names, line
        assert title.startswith(f"Backup failed: {names[sender].expect['code']}"), line


def test_make_run_says_who_deleted_each_of_the_chain_volumes_backups(make_run):
    retention = block(make_run, "ok    retention ")
    assert retention[0].startswith("ok    retention (KEEP_LAST=2): this call deleted 1 and kept 2 of its own")
    fates = [line.split("  ")[-1].strip() for line in retention[2:] if line.lstrip().startswith(("TERMINATED", "AVAILABLE"))]
    assert fates.count("ours: deleted by this call") == 1
    assert fates.count("ours: deleted by event-createvolumebackup-end") == 2
    assert "a backup policy's: never touched" in fates
    assert "ours, made by the chain: kept" in fates
    assert "by hand (not marked): never touched" in fates
    assert any("pruned there by the same rules" in line and "eu-frankfurt-1" in line for line in retention)


def test_make_invoke_prints_the_whole_answer():
    done = run_samples("--invoke", "events/alarm-ok-to-firing.json")
    assert done.returncode == 0, done.stderr
    assert "wire status: 200" in done.stdout
    assert done.stdout.count('"lifecycleState"') == 2


def test_make_invoke_sends_your_own_payload_with_client_headers_a_delivery_and_config(tmp_path):
    payload = tmp_path / "mine.json"
    payload.write_text('{"volumeId": "ocid1.volume.oc1.iad.abuwcljrdevbox0000000000000000000000000000000000000000008"}')
    done = make(
        "invoke",
        f"EVENT={payload}",
        "DELIVERY=api-gateway",
        "HEADERS=opc-retry-token: my-release-42; X-Team: dba",
        "CONFIG=BACKUP_TYPE=FULL",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "fn-http-status: 200" in done.stdout
    assert '"type": "FULL"' in done.stdout
    assert '"outcome": "created"' in done.stdout


def test_make_invoke_config_reaches_the_function(tmp_path):
    done = make("invoke", "EVENT=events/request-volume.json", "CONFIG=ALLOWED_COMPARTMENT_IDS=ocid1.compartment.oc1..aaaaaaaaother")
    assert done.returncode == 0, done.stderr
    assert '"code": "CompartmentNotAllowed"' in done.stdout


def test_make_invoke_shows_the_config_the_function_got_and_nothing_of_make():
    done = make("invoke", "EVENT=events/event-createvolumebackup-end.json", "CONFIG=KEEP_LAST=1 PRUNE_DRY_RUN=true")
    assert done.returncode == 0, done.stderr
    config = " ".join(line.strip() for line in block(done.stdout.splitlines(), "config: "))
    assert "KEEP_LAST=1 " in config and "PRUNE_DRY_RUN=true" in config and "KEEP_LAST=2" not in config
    assert "COPY_TO_REGIONS=us-phoenix-1,eu-frankfurt-1" in config
    assert "from CONFIG: KEEP_LAST PRUNE_DRY_RUN" in config
    assert '"dryRun": true' in done.stdout and '"kept": 1' in done.stdout
    assert done.stdout.startswith("emulator: "), "make echoed its recipe"
    assert "is up to date" not in done.stdout + done.stderr


def test_make_invoke_log_shows_this_calls_log_lines():
    quiet = make("invoke", "EVENT=events/request-volume.json")
    assert quiet.returncode == 0, quiet.stderr
    assert '"callId"' not in quiet.stdout
    done = make("invoke", "EVENT=events/request-volume.json", "LOG=1")
    assert done.returncode == 0, done.stderr
    heading, *log = done.stdout.split("function log, this call's lines (callId ")[1].splitlines()
    call_id = heading.removesuffix("):")
    records = [json.loads(line) for line in log if line.startswith("{")]
    assert records
    assert {record["callId"] for record in records if "callId" in record} == {call_id}
    assert any(record.get("outcome") == "created" for record in records)


def test_a_message_id_through_api_gateway_is_refused_in_one_line():
    done = run_samples("--invoke", "events/request-volume.json", "--delivery", "api-gateway", "--message-id", "m-1")
    assert done.returncode == 2
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith("make invoke: MESSAGE_ID ") and "DELIVERY=api-gateway" in line
    through_make = make("invoke", "EVENT=events/request-volume.json", "DELIVERY=api-gateway", "MESSAGE_ID=m-1")
    assert through_make.returncode == 2
    assert through_make.stderr.startswith(line)
    assert "emulator" not in through_make.stdout


def test_make_help_lists_the_variables_the_durations_and_where_the_cli_is():
    done = make("help")
    assert done.returncode == 0, done.stderr
    for variable in ("PYTHON=", "REQUIREMENTS=", "EVENT ", "DELIVERY ", "HEADERS ", "MESSAGE_ID ", "CONFIG ", "LOG=1 "):
        assert f"  {variable}" in done.stdout, variable
    assert "about 1.5 min" in done.stdout and "about 4 min" in done.stdout and "about 20 min" in done.stdout
    assert ".venv-cli/bin/oci" in done.stdout
    assert all(len(line) <= 100 for line in done.stdout.splitlines())


def test_a_missing_event_file_is_one_line_before_anything_starts():
    done = make("invoke", "EVENT=events/no-such-file.json")
    assert done.returncode != 0
    assert "make invoke: events/no-such-file.json: no such file" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert "emulator on" not in done.stdout


def test_run_samples_refuses_malformed_headers_and_config_in_one_line():
    for args in (("--headers", "no colon here"), ("--config", "NOEQUALS")):
        done = run_samples("--invoke", "events/request-volume.json", *args)
        assert done.returncode == 2
        assert done.stderr.startswith("make invoke: ")
        assert "Traceback" not in done.stderr


def test_make_checks_the_python_version_before_building_anything(tmp_path):
    old = tmp_path / "python3"
    old.write_text('#!/bin/sh\nif [ "$1" = -c ]; then case "$2" in *platform*) echo 3.9.18;; *) exit 1;; esac; fi\n')
    old.chmod(0o755)
    done = make("python-version", f"PYTHON={old}")
    assert done.returncode != 0
    assert "needs Python 3.11 or newer" in done.stderr and "3.9.18" in done.stderr


def test_a_failed_install_leaves_no_half_built_venv(tmp_path):
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    for name in ("Makefile", "requirements.txt", "requirements-dev.txt"):
        shutil.copy(REPO / name, checkout / name)
    (checkout / "broken.txt").write_text("no-such-package-for-this-test==0.0.0\n")
    env = {"PATH": "/usr/bin:/bin:/usr/local/bin", "HOME": str(tmp_path), "PIP_NO_INDEX": "1"}
    failed = make(".venv/.installed", "REQUIREMENTS=broken.txt", f"PYTHON={sys.executable}", cwd=checkout, env=env)
    assert failed.returncode != 0
    assert "nothing half-built is left" in failed.stderr
    assert not (checkout / ".venv").exists()
