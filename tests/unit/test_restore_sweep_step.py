"""The sweep's restore-test step with the real Core client in-process against the emulator (signed
by the SDK's resource-principal signer): stale test volumes found page by page in the restore-test
compartment are reported failed and deleted, and the next test starts, marked, in the source
volume's availability domain."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from backup_fn.clients.core import CoreClient
from backup_fn.clients.signer import Credentials
from backup_fn.deadline import Deadline
from backup_fn.domain import Trigger
from backup_fn.models import KINDS, OciBackup, OciVolume
from backup_fn.settings import load_settings
from backup_fn.usecases.restore_test import RestoreTests
from localoci.emulator import CoreEmulator
from localoci.identity import LocalIdentity

LEDGER = "ocid1.volume.oc1.iad.abuwcljrledger00000000000000000000000000000000000000000012"
OWN = "ocid1.volumebackup.oc1.iad.abuwcljrledgersweeptest000000000000000000000000000000008"
RESTORE = "ocid1.compartment.oc1..aaaaaaaarestoretests00000000000000000000000000000000003"
NAMESPACE = "volume-backup-local"


def mark(resource_id: str) -> dict[str, dict[str, str]]:
    return {NAMESPACE: {"resource": resource_id}}


@pytest.fixture
def use_case(identity: LocalIdentity, emulator: CoreEmulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[RestoreTests]:
    for name, value in identity.env().items():
        monkeypatch.setenv(name, value)
    settings = load_settings({"OCI_CORE_ENDPOINT": emulator.url, "MARK_TAG_NAMESPACE": NAMESPACE, "RESTORE_TEST_COMPARTMENT_ID": RESTORE})
    yield RestoreTests(CoreClient(Credentials(settings), settings.core_endpoint), settings)


def hours_ago(hours: float) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_a_sweep_cleans_up_stale_test_volumes_page_by_page_and_starts_the_next_test(use_case, emulator):
    emulator.add_backup(source_id=LEDGER, id=OWN, sizeInGBs=500, definedTags=mark(OWN))
    stale = []
    for n in range(5):
        volume_id = f"ocid1.volume.oc1.iad.abuwcljrstaletest{n:040d}"
        stale.append(
            emulator.add_volume(
                id=volume_id,
                compartmentId=RESTORE,
                timeCreated=hours_ago(2 + n),
                definedTags=mark(volume_id),
                freeformTags={"restore-test-of": OWN},
            )
        )
    fresh_id = "ocid1.volume.oc1.iad.abuwcljrfreshtest000000000000000000000000000000000000000001"
    emulator.add_volume(
        id=fresh_id, compartmentId=RESTORE, timeCreated=hours_ago(0.2), definedTags=mark(fresh_id), freeformTags={"restore-test-of": OWN}
    )
    emulator.state.volumes.max_page_size = 2  # the restore-test compartment comes in several pages

    volumes = [OciVolume.model_validate(emulator.volume(LEDGER))]
    backups = [OciBackup.model_validate(b) for b in emulator.backups_for(LEDGER)]
    trigger = Trigger("sweep", "direct", "slot-1", datetime.now(UTC))
    answers = use_case.during_sweep(volumes, backups, trigger, Deadline(at=time.monotonic() + 20), dry_run=False)

    cleaned = [a for a in answers if a.test_volume_id in stale]
    assert sorted(a.test_volume_id for a in cleaned) == sorted(stale)
    assert all((a.verdict, a.deleted) == ("failed", True) for a in cleaned)
    assert all(emulator.volume(v)["lifecycleState"] == "TERMINATED" for v in stale)
    assert emulator.volume(fresh_id)["lifecycleState"] == "AVAILABLE"
    (started,) = [a for a in answers if a.verdict == "started"]
    assert (started.backup_id, started.volume_id) == (OWN, LEDGER)
    test_volume = emulator.volume(started.test_volume_id or "")
    assert test_volume is not None
    assert (test_volume["compartmentId"], test_volume["availabilityDomain"]) == (RESTORE, "Uocm:US-ASHBURN-AD-1")
    assert test_volume["definedTags"] == mark(test_volume["id"])
    assert emulator.backups[OWN]["freeformTags"]["restore-test"].startswith("started ")
    lists = [r for r in emulator.requests if r.operation == "ListVolumes"]
    assert len(lists) >= 3 and all(r.signature_ok for r in emulator.requests)
    assert [r.query.get("compartmentId") for r in lists] == [RESTORE] * len(lists)
    assert {r.operation for r in emulator.requests} >= {"ListBootVolumes", "DeleteVolume", "CreateVolume", "UpdateVolume"}
    assert KINDS["volume"].ocid.matches(test_volume["id"])
