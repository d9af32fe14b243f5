"""Restore tests started and cleaned up by the sweep, through the fdk socket against the emulator:
a sweep restores the least recently tested backup, the test volume's event brings the verdict, and
a test volume whose event never came is deleted and reported failed by the next sweep."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from localoci.harness import Call
from localoci.tags import MARK_NAMESPACE
from tests.helpers import eventually, mark, metric_total

pytestmark = pytest.mark.functional

PROD = "ocid1.compartment.oc1..aaaaaaaaprod0000000000000000000000000000000000000000001"
RESTORE = "ocid1.compartment.oc1..aaaaaaaarestoretests00000000000000000000000000000000003"
TOPIC = "ocid1.onstopic.oc1.iad.aaaaaaaabackupfailures000000000000000000000000000000000001"
LEDGER = "ocid1.volume.oc1.iad.abuwcljrledger00000000000000000000000000000000000000000012"
OWN = "ocid1.volumebackup.oc1.iad.abuwcljrledgersweeptested0000000000000000000000000000007"
STALE = "ocid1.volume.oc1.iad.abuwcljrstaletestvolume0000000000000000000000000000000000001"
CONFIG = {
    "MARK_TAG_NAMESPACE": MARK_NAMESPACE,
    "SWEEP_COMPARTMENT_IDS": PROD,
    "RESTORE_TEST_COMPARTMENT_ID": RESTORE,
    "FAILURE_TOPIC_ID": TOPIC,
    "METRICS_NAMESPACE": "volume_backup",
    "METRICS_COMPARTMENT_ID": PROD,
}
SWEEP = Call(body=json.dumps({"sweep": {}}).encode())


def ago(hours: float) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@pytest.fixture
def own_backup(emulator) -> str:
    """The ledger's newest backup, the function's own and never restore-tested, made an hour ago."""
    emulator.restores.delay = 0.3
    made = emulator.add_backup(
        source_id=LEDGER, id=OWN, sizeInGBs=500, timeCreated=ago(1), definedTags=mark(OWN), freeformTags={"backup-trigger": "sweep"}
    )
    return str(made)


def test_a_sweep_restore_tests_a_backup_and_the_volume_s_event_brings_the_verdict(start_function, emulator, own_backup):
    # Two volumes of the seed have backups of the function's own never tested: the ledger's and a boot volume's.
    function = start_function(**CONFIG, RESTORE_TESTS_PER_SWEEP="2")
    result = function.call(SWEEP)
    assert result.status == 200, result.body
    tests = result.json["sweep"]["restoreTests"]
    assert len(tests) == 2 and {t["verdict"] for t in tests} == {"started"}
    (started,) = [t for t in tests if t["volumeId"] == LEDGER]
    assert started["backupId"] == OWN  # the ledger's newest own backup, not an older one
    test_volume = started["testVolumeId"]
    assert emulator.volume(test_volume)["compartmentId"] == RESTORE
    assert emulator.backups[OWN]["freeformTags"]["restore-test"].startswith("started ")

    assert eventually(lambda: any(e["data"]["resourceId"] == test_volume for e in emulator.restores.due_events()))
    (event,) = [e for e in emulator.restores.due_events() if e["data"]["resourceId"] == test_volume]
    verdict = function.call(Call(body=json.dumps(event).encode(), delivery="events"))
    assert verdict.status == 200, verdict.body
    assert verdict.json["restoreTest"]["verdict"] == "passed"
    assert emulator.volume(test_volume)["lifecycleState"] == "TERMINATED"
    assert emulator.backups[OWN]["freeformTags"]["restore-test"].startswith("passed ")
    assert metric_total(emulator, "RestoreTestsPassed") == 1
    # Just tested, the ledger's backup is not what the next sweep tests.
    again = function.call(SWEEP).json["sweep"]["restoreTests"]
    assert OWN not in {t["backupId"] for t in again}


def test_a_test_volume_whose_event_never_came_is_deleted_and_reported_failed_by_the_next_sweep(start_function, emulator, own_backup):
    emulator.add_volume(
        id=STALE,
        compartmentId=RESTORE,
        availabilityDomain="Uocm:US-ASHBURN-AD-1",
        timeCreated=ago(2),
        sizeInGBs=500,
        freeformTags={"restore-test-of": OWN},
        definedTags=mark(STALE),
    )
    ordinary = emulator.add_volume(id=STALE.replace("stale", "spare"), compartmentId=RESTORE, timeCreated=ago(2))
    function = start_function(**CONFIG)
    result = function.call(SWEEP)
    assert result.status == 200, result.body
    (expired,) = [t for t in result.json["sweep"]["restoreTests"] if t.get("testVolumeId") == STALE]
    assert (expired["backupId"], expired["verdict"], expired["deleted"]) == (OWN, "failed", True)
    assert "No event came" in expired["reason"]
    assert emulator.volume(STALE)["lifecycleState"] == "TERMINATED"
    assert emulator.volume(ordinary)["lifecycleState"] == "AVAILABLE"  # not marked: never the function's to delete
    failed = [m for m in emulator.messages if m["title"].startswith("Restore test failed")]
    assert len(failed) == 1 and STALE in failed[0]["title"]
    assert metric_total(emulator, "RestoreTestsFailed") == 1
    assert metric_total(emulator, "BackupsFailed") == 0
