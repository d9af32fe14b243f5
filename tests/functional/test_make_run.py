"""`make run` and `make invoke` as a newcomer runs them: their own emulator, identity and fdk server."""

from __future__ import annotations

import subprocess
import sys

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
