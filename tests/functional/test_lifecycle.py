"""After a backup finishes: copies to other regions and retention, through the fdk socket against
the emulator. Only backups this function made are ever copied or deleted, read from OCI."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from localoci.emulator import VOLUME
from localoci.harness import Call
from localoci.samples import sample
from tests.helpers import own_backup

pytestmark = pytest.mark.functional

LEDGER = "ocid1.volume.oc1.iad.abuwcljrledger00000000000000000000000000000000000000000012"
SPARE = "ocid1.volume.oc1.iad.abuwcljrspare00000000000000000000000000000000000000000011"
FINISHED = "ocid1.volumebackup.oc1.iad.abuwcljrledgerfinished00000000000000000000000000000006"
BY_HAND = "ocid1.volumebackup.oc1.iad.abuwcljrledgermanual0000000000000000000000000000000004"
POLICY = "ocid1.volumebackup.oc1.iad.abuwcljrledgerpolicy0000000000000000000000000000000003"
SEEDED_OWN = [
    "ocid1.volumebackup.oc1.iad.abuwcljrledgerweekly1000000000000000000000000000000001",
    "ocid1.volumebackup.oc1.iad.abuwcljrledgerweekly2000000000000000000000000000000002",
    "ocid1.volumebackup.oc1.iad.abuwcljrledgerweekly3000000000000000000000000000000005",
]
FRANKFURT_KEY = "ocid1.key.oc1.eu-frankfurt-1.bbqfrankfurtvault.abuwcljrfrankfurtkey000000000000000000000001"
OURS = {"backup-trigger": "oci-events", "backup-trigger-id": "earlier-event"}


def finished_event(backup_id: str = FINISHED, event_id: str = "b7e1c3a9-4d2f-4b8e-9a61-5f0c2d8e7a13", **data: Any) -> bytes:
    payload = sample("event-createvolumebackup-end.json").payload
    payload["data"]["resourceId"] = backup_id
    payload["data"].update(data)
    payload["eventID"] = event_id
    return json.dumps(payload).encode()


def requests_of(emulator, prefix: str) -> list[Any]:
    return [r for r in emulator.requests if r.operation.startswith(prefix)]


def ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_a_finished_backup_is_copied_to_each_region_with_that_region_s_key(start_function, emulator):
    function = start_function(COPY_TO_REGIONS="us-phoenix-1,eu-frankfurt-1", COPY_KMS_KEY_IDS=f"eu-frankfurt-1={FRANKFURT_KEY}")
    result = function.call(Call(body=finished_event(), delivery="events"))
    assert result.status == 200, result.body
    answer = result.json
    assert answer["backup"]["id"] == FINISHED
    assert [(c["region"], c["outcome"]) for c in answer["copies"]] == [("us-phoenix-1", "created"), ("eu-frankfurt-1", "created")]
    phoenix, frankfurt = emulator.backups_in_region("us-phoenix-1"), emulator.backups_in_region("eu-frankfurt-1")
    assert [b["sourceVolumeBackupId"] for b in phoenix + frankfurt] == [FINISHED, FINISHED]
    assert phoenix[0]["kmsKeyId"] is None
    assert frankfurt[0]["kmsKeyId"] == FRANKFURT_KEY
    assert phoenix[0]["displayName"] == "ledger 2026-11-22 02:00:00 UTC"
    copies = requests_of(emulator, "CopyVolumeBackup")
    assert [r.path for r in copies] == [f"/20160918/volumeBackups/{FINISHED}/actions/copy"] * 2
    assert [json.loads(r.body)["destinationRegion"] for r in copies] == ["us-phoenix-1", "eu-frankfurt-1"]
    assert len({r.retry_token for r in copies}) == 2
    assert requests_of(emulator, "Delete") == []  # no retention configured


def test_redelivered_three_times_two_at_once_makes_one_copy_per_region(start_function, emulator):
    function = start_function(COPY_TO_REGIONS="us-phoenix-1,eu-frankfurt-1")
    results = []

    def deliver() -> None:
        results.append(function.call(Call(body=finished_event(), delivery="notifications", message_id="msg-1")))

    pair = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in pair:
        thread.start()
    for thread in pair:
        thread.join()
    deliver()
    assert [r.status for r in results] == [200, 200, 200]
    assert len(emulator.backups_in_region("us-phoenix-1")) == 1
    assert len(emulator.backups_in_region("eu-frankfurt-1")) == 1
    ids = {tuple(c["id"] for c in r.json["copies"]) for r in results}
    assert len(ids) == 1


@pytest.mark.parametrize("backup_id", [BY_HAND, POLICY])
def test_a_backup_this_function_did_not_make_is_neither_copied_nor_pruned(start_function, emulator, backup_id):
    function = start_function(COPY_TO_REGIONS="us-phoenix-1", KEEP_LAST="1")
    # The payload claims our tag and another volume: the function reads the backup from OCI instead.
    lying = finished_event(backup_id, freeformTags=OURS, additionalDetails={"volumeId": SPARE, "sourceType": "MANUAL"})
    result = function.call(Call(body=lying, delivery="events"))
    assert result.status == 200
    assert result.json["ignored"] is True
    assert "not made by this function" in result.json["reason"]
    assert requests_of(emulator, "Copy") == [] and requests_of(emulator, "Delete") == [] and requests_of(emulator, "List") == []


def test_retention_works_on_the_volume_oci_names_not_the_one_the_payload_claims(start_function, emulator):
    function = start_function(KEEP_LAST="2")
    result = function.call(Call(body=finished_event(additionalDetails={"volumeId": SPARE}), delivery="events"))
    assert result.status == 200
    (listing,) = requests_of(emulator, "ListVolumeBackups")
    assert listing.query["volumeId"] == LEDGER


def test_keep_last_deletes_the_oldest_own_backups_and_nothing_else(start_function, emulator):
    function = start_function(KEEP_LAST="2")
    answer = function.call(Call(body=finished_event(), delivery="events")).json
    assert sorted(answer["pruned"]) == sorted(SEEDED_OWN[:2])
    assert answer["kept"] == 2
    assert answer["dryRun"] is False
    states = {b["id"]: b["lifecycleState"] for b in emulator.backups_for(LEDGER)}
    assert states[SEEDED_OWN[0]] == states[SEEDED_OWN[1]] == "TERMINATED"
    assert states[SEEDED_OWN[2]] == states[FINISHED] == states[BY_HAND] == states[POLICY] == "AVAILABLE"


def test_keep_days_deletes_only_own_backups_older_than_that_and_never_the_newest(start_function, emulator):
    # A volume whose backups are all made here, at ages relative to now.
    finished = own_backup(emulator, source_id=SPARE, timeCreated=ago(0.01), freeformTags=OURS)
    young = own_backup(emulator, source_id=SPARE, timeCreated=ago(3), freeformTags=OURS)
    old = [own_backup(emulator, source_id=SPARE, timeCreated=ago(days), freeformTags=OURS) for days in (8, 40)]
    old_not_ours = emulator.add_backup(source_id=SPARE, timeCreated=ago(60), freeformTags={})
    old_policy = own_backup(emulator, source_id=SPARE, timeCreated=ago(60), freeformTags=OURS, sourceType="SCHEDULED")
    old_faulty = own_backup(emulator, source_id=SPARE, timeCreated=ago(50), freeformTags=OURS, lifecycleState="FAULTY")
    function = start_function(KEEP_DAYS="7")
    answer = function.call(Call(body=finished_event(finished), delivery="events")).json
    assert sorted(answer["pruned"]) == sorted(old)
    assert answer["kept"] == 2
    states = {b["id"]: b["lifecycleState"] for b in emulator.backups_for(SPARE)}
    assert [states[i] for i in (finished, young, old_not_ours, old_policy, old_faulty)] == ["AVAILABLE"] * 4 + ["FAULTY"]


def test_keep_days_alone_never_deletes_the_newest_even_when_it_is_old(start_function, emulator):
    newest = own_backup(emulator, source_id=SPARE, timeCreated=ago(30), freeformTags=OURS)
    older = own_backup(emulator, source_id=SPARE, timeCreated=ago(31), freeformTags=OURS)
    function = start_function(KEEP_DAYS="7")
    answer = function.call(Call(body=finished_event(newest), delivery="events")).json
    assert (answer["pruned"], answer["kept"]) == ([older], 1)


def test_keep_last_and_keep_days_together_across_pages(start_function, emulator):
    emulator.state.max_page_size = 2
    finished = own_backup(emulator, source_id=SPARE, timeCreated=ago(0.01), freeformTags=OURS)
    recent = [own_backup(emulator, source_id=SPARE, timeCreated=ago(day), freeformTags=OURS) for day in (1, 2)]
    old = [own_backup(emulator, source_id=SPARE, timeCreated=ago(day), freeformTags=OURS) for day in (6, 9, 12, 15)]
    function = start_function(KEEP_LAST="2", KEEP_DAYS="5")
    answer = function.call(Call(body=finished_event(finished), delivery="events")).json
    # The two newest stay by KEEP_LAST, the third by KEEP_DAYS; the four older than 5 days go.
    assert sorted(answer["pruned"]) == sorted(old)
    assert answer["kept"] == 3
    assert all(b["lifecycleState"] == "AVAILABLE" for b in emulator.backups_for(SPARE) if b["id"] in recent)
    pages = requests_of(emulator, "ListVolumeBackups")
    assert len(pages) == 4  # seven backups, two a page
    assert "page" not in pages[0].query and all("page" in p.query for p in pages[1:])


def test_dry_run_answers_what_would_go_and_deletes_nothing(start_function, emulator):
    function = start_function(KEEP_LAST="1", PRUNE_DRY_RUN="true")
    answer = function.call(Call(body=finished_event(), delivery="events")).json
    assert answer["dryRun"] is True
    assert set(answer["pruned"]) == set(SEEDED_OWN)
    assert answer["kept"] == 1
    assert requests_of(emulator, "Delete") == []
    assert all(b["lifecycleState"] == "AVAILABLE" for b in emulator.backups_for(LEDGER))


def test_a_backup_another_call_deleted_first_is_not_counted_as_this_call_s(start_function, emulator):
    emulator.add_fault(operation="DeleteVolumeBackup", resource_id=SEEDED_OWN[0], status=404)
    function = start_function(KEEP_LAST="2", METRICS_NAMESPACE="volume_backup")
    answer = function.call(Call(body=finished_event(), delivery="events")).json
    assert answer["pruned"] == [SEEDED_OWN[1]]
    assert answer["counts"] == {"pruned": 1, "failures": 0, "copiesPruned": 0}
    assert "failures" not in answer
    deleted = [m for m in emulator.metrics if m["name"] == "BackupsDeleted"]
    assert [m["datapoints"][0]["value"] for m in deleted] == [1]


def test_throttled_copies_are_retried_within_the_deadline(start_function, emulator):
    emulator.add_fault(operation="CopyVolumeBackup", status=429, times=2)
    function = start_function(COPY_TO_REGIONS="us-phoenix-1")
    result = function.call(Call(body=finished_event(), delivery="events"))
    assert result.status == 200
    assert [r.status for r in requests_of(emulator, "CopyVolumeBackup")] == [429, 429, 200]
    assert len(emulator.backups_in_region("us-phoenix-1")) == 1


def test_copies_throttled_until_the_deadline_are_answered_as_transient(start_function, emulator):
    emulator.add_fault(operation="CopyVolumeBackup", status=429, times=None)
    function = start_function(COPY_TO_REGIONS="us-phoenix-1", DEADLINE_MARGIN_SECONDS="0.5")
    result = function.call(Call(body=finished_event(), delivery="events", deadline_seconds=3))
    assert result.status == 502
    (copy,) = result.json["copies"]
    assert (copy["outcome"], copy["code"]) == ("failed", "TooManyRequests")
    gateway = function.call(Call(body=finished_event(event_id="another"), delivery="api-gateway", deadline_seconds=3))
    assert gateway.http_status == 429


def test_the_emulator_s_own_copy_limit_is_throttling_too(start_function, emulator):
    emulator.state.available_after = 60
    for n in range(10):
        source = own_backup(emulator, source_id=LEDGER, timeCreated=ago(10 + n), freeformTags=OURS)
        emulator.state.copy_backup(VOLUME, source, {"destinationRegion": "us-phoenix-1"}, None)  # ten copies still running
    function = start_function(COPY_TO_REGIONS="us-phoenix-1", DEADLINE_MARGIN_SECONDS="0.5")
    result = function.call(Call(body=finished_event(), delivery="events", deadline_seconds=2))
    assert result.status == 502
    assert result.json["copies"][0]["code"] == "TooManyRequests"


def test_a_faulty_backup_is_a_failure_of_its_trigger(start_function, emulator):
    faulty = own_backup(emulator, source_id=LEDGER, lifecycleState="FAULTY", freeformTags=OURS)
    function = start_function(COPY_TO_REGIONS="us-phoenix-1", KEEP_LAST="1")
    result = function.call(Call(body=finished_event(faulty), delivery="events"))
    assert result.status == 200  # a redelivery cannot mend it
    assert result.json["failures"][0]["code"] == "BackupFaulty"
    assert requests_of(emulator, "Copy") == [] and requests_of(emulator, "Delete") == []


def test_a_backup_not_yet_available_asks_for_a_redelivery(start_function, emulator):
    running = own_backup(emulator, source_id=LEDGER, lifecycleState="CREATING", freeformTags=OURS)
    function = start_function(COPY_TO_REGIONS="us-phoenix-1")
    result = function.call(Call(body=finished_event(running), delivery="events"))
    assert result.status == 502
    assert result.json["code"] == "BackupNotAvailable"


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({"PRUNE_DRY_RUN": "ture", "KEEP_LAST": "2"}, "PRUNE_DRY_RUN"),
        ({"KEEP_LAST": "0"}, "KEEP_LAST"),
        ({"COPY_TO_REGIONS": "us-phoenix-1", "COPY_KMS_KEY_IDS": f"eu-frankfurt-1={FRANKFURT_KEY}"}, "COPY_KMS_KEY_IDS"),
        ({"COPY_TO_REGIONS": "phoenix"}, "COPY_TO_REGIONS"),
    ],
)
def test_a_lifecycle_value_that_cannot_be_read_exactly_deletes_nothing(start_function, emulator, config, key):
    function = start_function(**config)
    result = function.call(Call(body=finished_event(), delivery="events"))
    assert result.status == 502
    assert result.json["code"] == "InvalidConfiguration"
    assert key in result.json["message"]
    assert emulator.requests == []
