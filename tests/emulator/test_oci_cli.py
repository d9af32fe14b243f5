"""The official OCI CLI pointed at the emulator (`--endpoint`, resource-principal auth): volumes
listed, backups got, listed in both sort orders, copied and deleted, errors in OCI's shape.
Runs under `make cli-check`, which installs the CLI in its own virtualenv and sets OCI_CLI."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import pytest

from localoci.emulator import CoreEmulator
from localoci.identity import LocalIdentity
from tests.helpers import SEED

OCI_CLI = os.environ.get("OCI_CLI")
pytestmark = pytest.mark.skipif(not OCI_CLI, reason="make cli-check runs these with the OCI CLI installed")

PROD = "ocid1.compartment.oc1..aaaaaaaaprod0000000000000000000000000000000000000000001"
LEDGER = "ocid1.volume.oc1.iad.abuwcljrledger00000000000000000000000000000000000000000012"
WEEKLY = "ocid1.volumebackup.oc1.iad.abuwcljrledgerweekly1000000000000000000000000000000001"
BOOT_BACKUP = "ocid1.bootvolumebackup.oc1.iad.abuwcljrbatch01finished000000000000000000000000000001"


@pytest.fixture
def cli(identity: LocalIdentity, tmp_path):
    with CoreEmulator(SEED, identity.issuer_public_key_pem, creating_after=0.1, available_after=0.3) as emulator:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(tmp_path),
            **identity.env(),
            "OCI_CLI_SUPPRESS_FILE_PERMISSIONS_WARNING": "True",
        }

        def run(*args: str, check: bool = True) -> Any:
            assert OCI_CLI is not None
            command = [OCI_CLI, "--endpoint", emulator.url, "--auth", "resource_principal", *args]
            done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
            if check:
                assert done.returncode == 0, done.stderr
                return json.loads(done.stdout) if done.stdout.strip() else None
            return done

        run.emulator = emulator  # type: ignore[attr-defined]
        yield run


def test_the_cli_lists_volumes_page_by_page(cli):
    cli.emulator.state.max_page_size = 4
    listed = cli("bv", "volume", "list", "--compartment-id", PROD, "--all")["data"]
    assert LEDGER in {v["id"] for v in listed}
    assert len(listed) == len({v["id"] for v in listed}) > 4


@pytest.mark.parametrize("order", ["ASC", "DESC"])
def test_the_cli_lists_backups_in_the_order_asked(cli, order):
    args = ("bv", "backup", "list", "--compartment-id", PROD, "--volume-id", LEDGER, "--sort-by", "TIMECREATED", "--sort-order", order)
    times = [b["time-created"] for b in cli(*args)["data"]]
    assert len(times) == 6
    assert times == sorted(times, reverse=order == "DESC")


def test_the_cli_gets_copies_and_deletes_a_backup(cli):
    assert cli("bv", "backup", "get", "--volume-backup-id", WEEKLY)["data"]["lifecycle-state"] == "AVAILABLE"
    copied = cli("bv", "backup", "copy", "--volume-backup-id", WEEKLY, "--destination-region", "us-phoenix-1")["data"]
    assert copied["source-volume-backup-id"] == WEEKLY and copied["id"].startswith("ocid1.volumebackup.oc1.phx.")
    assert cli("bv", "backup", "delete", "--volume-backup-id", WEEKLY, "--force") is None
    assert cli("bv", "backup", "get", "--volume-backup-id", WEEKLY)["data"]["lifecycle-state"] == "TERMINATED"


def test_the_cli_copies_and_deletes_a_boot_volume_backup(cli):
    copied = cli("bv", "boot-volume-backup", "copy", "--boot-volume-backup-id", BOOT_BACKUP, "--destination-region", "eu-frankfurt-1")
    assert copied["data"]["id"].startswith("ocid1.bootvolumebackup.oc1.fra.")
    assert cli("bv", "boot-volume-backup", "delete", "--boot-volume-backup-id", BOOT_BACKUP, "--force") is None


def test_the_cli_shows_oci_shaped_errors(cli):
    done = cli("bv", "backup", "get", "--volume-backup-id", "ocid1.volumebackup.oc1.iad.nosuch", check=False)
    assert done.returncode != 0
    assert '"code": "NotAuthorizedOrNotFound"' in done.stderr
    assert '"status": 404' in done.stderr
