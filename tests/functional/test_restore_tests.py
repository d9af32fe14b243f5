"""Restore tests through the fdk socket, against the emulator: the on-demand request restores one
of the function's own backups into the restore-test compartment; the restored volume's
createvolume.end event, delivered as Events does, is judged (passed, FAULTY, too small), recorded
on the backup and the test volume deleted; a redelivery judges nothing twice; forged events and
foreign backups delete and create nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from localoci.harness import Call
from localoci.samples import sample
from localoci.tags import MARK_NAMESPACE
from tests.helpers import eventually, mark, metric_total

pytestmark = pytest.mark.functional

PROD = "ocid1.compartment.oc1..aaaaaaaaprod0000000000000000000000000000000000000000001"
RESTORE = "ocid1.compartment.oc1..aaaaaaaarestoretests00000000000000000000000000000000003"
TOPIC = "ocid1.onstopic.oc1.iad.aaaaaaaabackupfailures000000000000000000000000000000000001"
LEDGER = "ocid1.volume.oc1.iad.abuwcljrledger00000000000000000000000000000000000000000012"
BATCH01 = "ocid1.bootvolume.oc1.iad.abuwcljrbatch01000000000000000000000000000000000000000004"
APPDATA = "ocid1.volume.oc1.iad.abuwcljrappdata000000000000000000000000000000000000000001"
OWN = "ocid1.volumebackup.oc1.iad.abuwcljrledgerrestoreme00000000000000000000000000000007"
OWN_BOOT = "ocid1.bootvolumebackup.oc1.iad.abuwcljrbatch01restoreme000000000000000000000000002"
FOREIGN = "ocid1.volumebackup.oc1.iad.abuwcljrledgermanual0000000000000000000000000000000004"
CONFIG = {
    "MARK_TAG_NAMESPACE": MARK_NAMESPACE,
    "RESTORE_TEST_COMPARTMENT_ID": RESTORE,
    "FAILURE_TOPIC_ID": TOPIC,
    "METRICS_NAMESPACE": "volume_backup",
    "METRICS_COMPARTMENT_ID": PROD,
}


@pytest.fixture
def own_backup(emulator) -> str:
    emulator.restores.delay = 0.3
    made = emulator.add_backup(source_id=LEDGER, id=OWN, sizeInGBs=500, definedTags=mark(OWN), freeformTags={"backup-trigger": "sweep"})
    return str(made)


def restore_test(backup_id: str, **call: Any) -> Call:
    return Call(body=json.dumps({"restoreTest": {"backupId": backup_id}}).encode(), **call)


def requests_of(emulator, *operations: str) -> list[Any]:
    return [r for r in emulator.requests if r.operation in operations]


def event_of(emulator, test_volume_id: str) -> bytes:
    assert eventually(lambda: any(e["data"]["resourceId"] == test_volume_id for e in emulator.restores.due_events()))
    (event,) = [e for e in emulator.restores.due_events() if e["data"]["resourceId"] == test_volume_id]
    return json.dumps(event).encode()


def started(function, emulator, backup_id: str = OWN) -> str:
    result = function.call(restore_test(backup_id))
    assert result.status == 200, result.body
    answer = result.json["restoreTest"]
    assert answer["verdict"] == "started"
    return str(answer["testVolumeId"])


def test_a_restore_test_passes_is_recorded_on_the_backup_and_its_volume_is_deleted(start_function, emulator, own_backup):
    function = start_function(**CONFIG)
    test_volume_id = started(function, emulator)
    volume = emulator.volume(test_volume_id)
    assert volume is not None
    assert volume["compartmentId"] == RESTORE
    assert volume["availabilityDomain"] == "Uocm:US-ASHBURN-AD-1"  # the ledger volume's, read from OCI
    assert volume["vpusPerGB"] == 0
    assert volume["sourceDetails"] == {"type": "volumeBackup", "id": OWN}
    assert volume["freeformTags"] == {"restore-test-of": OWN}
    assert volume["definedTags"] == mark(test_volume_id)
    assert emulator.backups[OWN]["freeformTags"]["restore-test"].startswith("started ")

    result = function.call(Call(body=event_of(emulator, test_volume_id), delivery="events"))
    assert result.status == 200, result.body
    answer = result.json["restoreTest"]
    assert answer == {
        "backupId": OWN,
        "volumeId": LEDGER,
        "testVolumeId": test_volume_id,
        "verdict": "passed",
        "seconds": answer["seconds"],
        "deleted": True,
    }
    assert answer["seconds"] >= 0
    assert emulator.volume(test_volume_id)["lifecycleState"] == "TERMINATED"
    tag = emulator.backups[OWN]["freeformTags"]["restore-test"]
    assert tag.startswith("passed ") and tag.endswith(f" {test_volume_id}")
    assert emulator.backups[OWN]["freeformTags"]["backup-trigger"] == "sweep"  # merged, not replaced
    assert requests_of(emulator, "CreateVolumeBackup") == []  # a test volume is never backed up
    assert emulator.messages == []
    assert metric_total(emulator, "RestoreTestsPassed") == 1
    assert metric_total(emulator, "RestoreTestsFailed") == 0
    assert [item["name"] for item in emulator.metrics].count("RestoreTestSeconds") == 1


@pytest.mark.parametrize(
    ("spoiled", "expected"),
    [({"lifecycle_state": "FAULTY"}, "is FAULTY, not AVAILABLE"), ({"size_in_gbs": 100}, "has 100 GB, less than the backup's 500 GB")],
)
def test_a_restore_that_ends_faulty_or_too_small_fails_pages_and_is_still_deleted(start_function, emulator, own_backup, spoiled, expected):
    emulator.restores.spoil(OWN, **spoiled)
    function = start_function(**CONFIG)
    test_volume_id = started(function, emulator)
    result = function.call(Call(body=event_of(emulator, test_volume_id), delivery="events"))
    assert result.status == 200, result.body
    answer = result.json["restoreTest"]
    assert (answer["verdict"], answer["deleted"]) == ("failed", True)
    assert expected in answer["reason"]
    assert emulator.volume(test_volume_id)["lifecycleState"] == "TERMINATED"
    assert emulator.backups[OWN]["freeformTags"]["restore-test"].startswith("failed ")
    (message,) = emulator.messages
    assert message["title"].startswith("Restore test failed: RestoreTestFailed, ")
    assert json.loads(message["body"])["willRetry"] is False
    assert metric_total(emulator, "RestoreTestsFailed") == 1
    assert metric_total(emulator, "BackupsFailed") == 0


def test_a_redelivered_verdict_event_gives_one_verdict_and_one_delete(start_function, emulator, own_backup):
    function = start_function(**CONFIG)
    test_volume_id = started(function, emulator)
    event = event_of(emulator, test_volume_id)
    first = function.call(Call(body=event, delivery="notifications", message_id="m-1"))
    again = function.call(Call(body=event, delivery="notifications", message_id="m-1"))
    assert first.json["restoreTest"]["verdict"] == "passed"
    assert again.status == 200
    assert again.json["ignored"] is True
    assert "judged passed" in again.json["reason"] and "earlier delivery" in again.json["reason"]
    verdicts = [r for r in requests_of(emulator, "UpdateVolumeBackup") if b"passed" in r.body]
    assert len(verdicts) == 1
    assert [r.status for r in requests_of(emulator, "DeleteVolume")] == [204]
    assert metric_total(emulator, "RestoreTestsPassed") == 1


def test_a_delete_refused_while_provisioning_answers_502_and_the_redelivery_deletes(start_function, emulator, own_backup):
    function = start_function(**CONFIG)
    test_volume_id = started(function, emulator)
    event = event_of(emulator, test_volume_id)
    emulator.add_fault(operation="DeleteVolume", status=409, code="Conflict", message="The volume is still provisioning.")
    first = function.call(Call(body=event, delivery="events"))
    assert first.status == 502
    assert first.json["restoreTest"]["verdict"] == "passed"
    assert first.json["restoreTest"]["deleted"] is False
    assert emulator.volume(test_volume_id)["lifecycleState"] == "AVAILABLE"
    again = function.call(Call(body=event, delivery="events"))
    assert again.status == 200
    assert "is deleted now" in again.json["reason"]
    assert emulator.volume(test_volume_id)["lifecycleState"] == "TERMINATED"
    assert len([r for r in requests_of(emulator, "UpdateVolumeBackup") if b"passed" in r.body]) == 1


def test_a_boot_volume_backup_restores_into_a_boot_volume_at_its_lowest_performance(start_function, emulator):
    emulator.restores.delay = 0.3
    emulator.add_backup("bootVolume", source_id=BATCH01, id=OWN_BOOT, sizeInGBs=47, definedTags=mark(OWN_BOOT))
    function = start_function(**CONFIG)
    test_volume_id = started(function, emulator, OWN_BOOT)
    assert test_volume_id.startswith("ocid1.bootvolume.")
    assert emulator.volume(test_volume_id)["vpusPerGB"] == 10
    result = function.call(Call(body=event_of(emulator, test_volume_id), delivery="events"))
    assert json.loads(event_of(emulator, test_volume_id))["eventType"] == "com.oraclecloud.blockvolumes.createbootvolume.end"
    assert result.json["restoreTest"]["verdict"] == "passed"
    assert emulator.volume(test_volume_id)["lifecycleState"] == "TERMINATED"


def forged_event(volume_id: str, **data: Any) -> bytes:
    payload = sample("event-createvolume-end.json").payload
    payload["data"].update(resourceId=volume_id, **data)
    return json.dumps(payload).encode()


def test_a_forged_event_for_a_volume_that_is_not_a_test_volume_deletes_nothing(start_function, emulator, own_backup):
    ordinary_id = "ocid1.volume.oc1.iad.abuwcljrordinaryinrestore0000000000000000000000000000001"
    ordinary = emulator.add_volume(id=ordinary_id, compartmentId=RESTORE)
    copied_mark = emulator.add_volume(
        id="ocid1.volume.oc1.iad.abuwcljrwrongmark00000000000000000000000000000000000000002",
        compartmentId=RESTORE,
        freeformTags={"restore-test-of": OWN},
        definedTags=mark(LEDGER),  # a mark naming another resource is no mark
    )
    function = start_function(**CONFIG)
    for volume_id in (ordinary, copied_mark):
        result = function.call(Call(body=forged_event(volume_id), delivery="events"))
        assert result.status == 200
        assert result.json["ignored"] is True
        assert "not a test volume" in result.json["reason"]
        assert emulator.volume(volume_id)["lifecycleState"] == "AVAILABLE"
    assert requests_of(emulator, "DeleteVolume", "CreateVolumeBackup", "UpdateVolumeBackup") == []


def test_a_test_volume_in_another_compartment_is_an_ordinary_volume_and_is_backed_up(start_function, emulator, own_backup):
    elsewhere = "ocid1.volume.oc1.iad.abuwcljrtestlikeinprod00000000000000000000000000000000003"
    emulator.add_volume(id=elsewhere, compartmentId=PROD, freeformTags={"restore-test-of": OWN}, definedTags=mark(elsewhere))
    function = start_function(**CONFIG)
    for volume_id in (elsewhere, APPDATA):
        # The payload claims the restore-test compartment; where the volume lies is read from OCI.
        result = function.call(Call(body=forged_event(volume_id, compartmentId=RESTORE), delivery="events"))
        assert result.status == 200, result.body
        assert result.json["outcome"] == "created"
        assert emulator.volume(volume_id)["lifecycleState"] == "AVAILABLE"
    assert [json.loads(r.body)["volumeId"] for r in requests_of(emulator, "CreateVolumeBackup")] == [elsewhere, APPDATA]
    assert requests_of(emulator, "DeleteVolume") == []
    # The only backups tagged are the two new ones, with the function's mark: no verdict was recorded anywhere.
    assert all(OWN not in r.target for r in requests_of(emulator, "UpdateVolumeBackup"))


def test_a_request_naming_a_volume_of_the_restore_test_compartment_backs_nothing_up(start_function, emulator, own_backup):
    function = start_function(**CONFIG)
    test_volume_id = started(function, emulator)
    result = function.call(Call(body=json.dumps({"volumeId": test_volume_id}).encode()))
    assert result.json["ignored"] is True
    assert "restore-test compartment" in result.json["reason"]
    assert requests_of(emulator, "CreateVolumeBackup", "DeleteVolume") == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"restoreTest": {"backupId": LEDGER}}, "restoreTest.backupId: must be an ocid1.volumebackup. or ocid1.bootvolumebackup. OCID"),
        ({"restoreTest": {"backupId": OWN, "size": 1}}, "restoreTest.size: is not a field of a restore-test request"),
        ({"restoreTest": {}}, "restoreTest.backupId: is required"),
        ({"restoreTest": {"backupId": OWN}, "volumeId": LEDGER}, "volumeId: is not a field of a restore-test request"),
    ],
)
def test_a_malformed_restore_test_request_names_the_field(start_function, emulator, own_backup, body, expected):
    function = start_function(**CONFIG)
    result = function.call(Call(body=json.dumps(body).encode(), delivery="api-gateway"))
    assert result.http_status == 400
    assert result.json["code"] == "InvalidParameter"
    assert expected in result.json["message"]
    assert requests_of(emulator, "CreateVolume") == []


def test_foreign_gone_and_unfinished_backups_are_refused_and_nothing_is_created(start_function, emulator, own_backup):
    copied = emulator.add_backup(source_id=LEDGER, definedTags=mark(LEDGER))  # the volume's mark, copied onto its backup
    creating = emulator.add_backup(source_id=APPDATA, lifecycleState="CREATING")
    emulator.state.backups[creating]["definedTags"] = mark(creating)
    gone = "ocid1.volumebackup.oc1.iad.abuwcljrnosuchbackup0000000000000000000000000000000009"
    function = start_function(**CONFIG)
    for backup_id, status, code in [
        (FOREIGN, 403, "NotOwnBackup"),
        (copied, 403, "NotOwnBackup"),
        (creating, 409, "IncorrectState"),
        (gone, 404, "NotAuthorizedOrNotFound"),
    ]:
        result = function.call(restore_test(backup_id, delivery="api-gateway"))
        assert (result.http_status, result.json["code"]) == (status, code), result.body
        assert backup_id in result.json["message"]
    assert requests_of(emulator, "CreateVolume", "CreateBootVolume", "UpdateVolumeBackup") == []


def test_restore_tests_off_are_acknowledged_and_without_the_mark_a_configuration_error(start_function, emulator, own_backup):
    off = start_function("off", MARK_TAG_NAMESPACE=MARK_NAMESPACE)
    result = off.call(restore_test(OWN))
    assert result.status == 200
    assert result.json["ignored"] is True
    assert "RESTORE_TEST_COMPARTMENT_ID is unset" in result.json["reason"]
    unmarked = start_function("unmarked", RESTORE_TEST_COMPARTMENT_ID=RESTORE, MARK_TAG_NAMESPACE="")
    result = unmarked.call(restore_test(OWN))
    assert result.json["code"] == "InvalidConfiguration"
    assert "RESTORE_TEST_COMPARTMENT_ID needs MARK_TAG_NAMESPACE" in result.json["message"]
    assert requests_of(emulator, "CreateVolume") == []


def test_the_same_delivery_restores_once(start_function, emulator, own_backup):
    function = start_function(**CONFIG)
    first = function.call(restore_test(OWN, delivery="notifications", message_id="ask-1"))
    again = function.call(restore_test(OWN, delivery="notifications", message_id="ask-1"))
    other = function.call(restore_test(OWN, delivery="notifications", message_id="ask-2"))
    assert first.json["restoreTest"]["testVolumeId"] == again.json["restoreTest"]["testVolumeId"]
    assert other.json["restoreTest"]["testVolumeId"] != first.json["restoreTest"]["testVolumeId"]
    assert len({r.retry_token for r in requests_of(emulator, "CreateVolume")}) == 2
