"""`make run` and `make invoke` as a newcomer runs them: their own emulator, identity and fdk server."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from localoci.harness import REPO

pytestmark = pytest.mark.functional


def run_samples(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "localoci.run_samples", *args], cwd=REPO, capture_output=True, text=True, timeout=120)


def test_make_run_sends_every_sample_and_shows_the_backups():
    done = run_samples()
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert any(line.startswith("ok") and " created ocid1.volumebackup." in line for line in lines)
    assert any(line.startswith("ok") and " created ocid1.bootvolumebackup." in line for line in lines)
    assert not any(line.startswith("FAIL") for line in lines)
    assert lines[-1].endswith(" passed, 0 failed")


def test_make_invoke_prints_the_whole_answer():
    done = run_samples("--invoke", "events/alarm-ok-to-firing.json")
    assert done.returncode == 0, done.stderr
    assert "wire status: 200" in done.stdout
    assert done.stdout.count('"lifecycleState"') == 2


MAKE = shutil.which("make") or "make"


def make(*args: str, cwd: Path = REPO, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([MAKE, "--no-print-directory", *args], cwd=cwd, capture_output=True, text=True, timeout=180, env=env)


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
