"""What the function may delete, copy or page about, tried as a hostile colleague would: through the
fdk socket against the emulator, which copies a volume's tags onto its backups, accepts defined
tags only in namespaces that exist and refuses to delete a locked backup."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from localoci.emulator import VOLUME
from localoci.harness import Call
from localoci.samples import sample
from localoci.tags import MARK_KEY, MARK_NAMESPACE
from tests.helpers import own_backup

pytestmark = pytest.mark.functional

SPARE = "ocid1.volume.oc1.iad.abuwcljrspare00000000000000000000000000000000000000000011"
DEV_VOLUME = "ocid1.volume.oc1.iad.abuwcljrdevbox0000000000000000000000000000000000000000008"
PROD = "ocid1.compartment.oc1..aaaaaaaaprod0000000000000000000000000000000000000000001"
TOPIC = "ocid1.onstopic.oc1.iad.aaaaaaaabackupfailures000000000000000000000000000000000001"
OURS = {"backup-trigger": "oci-events", "backup-trigger-id": "earlier-event"}


def ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def finished_event(backup_id: str, event_id: str | None = None) -> bytes:
    payload = sample("event-createvolumebackup-end.json").payload
    payload["data"]["resourceId"] = backup_id
    payload["eventID"] = event_id or str(uuid.uuid4())
    return json.dumps(payload).encode()


def operations(emulator, name: str) -> list[Any]:
    return [r for r in emulator.requests if r.operation == name]


def states(emulator, volume_id: str = SPARE) -> dict[str, str]:
    return {b["id"]: b["lifecycleState"] for b in emulator.backups_for(volume_id)}


def a_person_s_backup_of(emulator, volume_id: str, age_days: float) -> str:
    """A backup someone made by hand of `volume_id`: OCI copies the volume's tags onto it."""
    made = emulator.state.create_backup(VOLUME, {"volumeId": volume_id}, None)
    with emulator.state.lock:
        emulator.state.backups[made["id"]].update(lifecycleState="AVAILABLE", timeCreated=ago(age_days))
        emulator.state.received_at.pop(made["id"], None)
    return str(made["id"])


def test_freeform_tags_copied_onto_a_hand_made_backup_do_not_make_it_deletable(start_function, emulator):
    newest = own_backup(emulator, source_id=SPARE, timeCreated=ago(0.01))
    forged = emulator.add_backup(source_id=SPARE, timeCreated=ago(30), freeformTags=OURS)
    function = start_function(KEEP_LAST="1")
    answer = function.call(Call(body=finished_event(newest), delivery="events")).json
    assert answer["pruned"] == [] and answer["kept"] == 1
    assert states(emulator)[forged] == "AVAILABLE"
    assert operations(emulator, "DeleteVolumeBackup") == []


@pytest.mark.parametrize("value", ["the volume", "another backup"])
def test_a_volume_carrying_the_mark_passes_on_nothing_that_makes_its_backups_ours(start_function, emulator, value):
    newest = own_backup(emulator, source_id=SPARE, timeCreated=ago(0.01))
    other = own_backup(emulator, source_id=SPARE, timeCreated=ago(1))
    volume = emulator.state.volumes.update(
        "volumes", SPARE, freeformTags=OURS, definedTags={MARK_NAMESPACE: {MARK_KEY: SPARE if value == "the volume" else other}}
    )
    manual = a_person_s_backup_of(emulator, SPARE, age_days=30)
    assert emulator.backups[manual]["definedTags"] == volume["definedTags"]  # OCI copied the volume's tags
    function = start_function(KEEP_LAST="2")
    answer = function.call(Call(body=finished_event(newest), delivery="events")).json
    assert answer["pruned"] == [] and answer["kept"] == 2
    assert states(emulator)[manual] == "AVAILABLE"
    ignored = function.call(Call(body=finished_event(manual), delivery="events")).json
    assert ignored["ignored"] is True
    assert operations(emulator, "DeleteVolumeBackup") == [] and operations(emulator, "CopyVolumeBackup") == []


def test_a_second_deployment_s_backups_are_not_this_one_s(start_function, emulator):
    newest = own_backup(emulator, source_id=SPARE, timeCreated=ago(0.01))
    theirs = emulator.add_backup(source_id=SPARE, timeCreated=ago(20), freeformTags=OURS)
    emulator.state.backups[theirs]["definedTags"] = {"volume-backup-other": {MARK_KEY: theirs}}
    function = start_function(KEEP_LAST="1", COPY_TO_REGIONS="us-phoenix-1")
    assert function.call(Call(body=finished_event(newest), delivery="events")).json["pruned"] == []
    assert states(emulator)[theirs] == "AVAILABLE"
    assert function.call(Call(body=finished_event(theirs), delivery="events")).json["ignored"] is True
    assert [json.loads(r.body)["destinationRegion"] for r in operations(emulator, "CopyVolumeBackup")] == ["us-phoenix-1"]


def test_five_announcements_of_one_backup_with_fresh_ids_make_one_copy_per_region(start_function, emulator):
    finished = own_backup(emulator, source_id=SPARE, timeCreated=ago(0.01))
    function = start_function(COPY_TO_REGIONS="us-phoenix-1,eu-frankfurt-1", METRICS_NAMESPACE="volume_backup")
    answers = [function.call(Call(body=finished_event(finished), delivery="notifications")).json for _ in range(5)]
    copied = [m["datapoints"][0]["value"] for m in emulator.metrics if m["name"] == "BackupsCopied"]
    assert copied == [2, 0, 0, 0, 0]
    for region in ("us-phoenix-1", "eu-frankfurt-1"):
        copies = [b for b in emulator.backups_in_region(region) if b["sourceVolumeBackupId"] == finished]
        assert len(copies) == 1
        # Marked there, on that region's endpoint, with the copy's own id.
        assert copies[0]["definedTags"][MARK_NAMESPACE] == {MARK_KEY: copies[0]["id"]}
    assert [c["outcome"] for c in answers[0]["copies"]] == ["created", "created"]
    assert [c["marked"] for c in answers[0]["copies"]] == [True, True]
    assert all(c["outcome"] == "existing" for answer in answers[1:] for c in answer["copies"])
    tagged = [r for r in operations(emulator, "UpdateVolumeBackup") if r.region in ("us-phoenix-1", "eu-frankfurt-1")]
    assert sorted(r.region for r in tagged) == ["eu-frankfurt-1", "us-phoenix-1"]


@pytest.mark.parametrize(
    "lock",
    [
        {"isRetentionLockEnabled": True},
        {"isPreventDeletionEnabled": True},
        {"isIndefiniteRetentionEnabled": True},
        {"timeRetentionExpiresAt": "2099-01-01T00:00:00.000Z"},
    ],
)
def test_a_locked_backup_is_kept_never_tried_and_pages_nobody(start_function, emulator, lock):
    newest = own_backup(emulator, source_id=SPARE, timeCreated=ago(0.01))
    locked = own_backup(emulator, source_id=SPARE, timeCreated=ago(40), **lock)
    old = own_backup(emulator, source_id=SPARE, timeCreated=ago(50))
    function = start_function(KEEP_LAST="1", FAILURE_TOPIC_ID=TOPIC)
    result = function.call(Call(body=finished_event(newest), delivery="events"))
    assert result.status == 200
    answer = result.json
    assert answer["pruned"] == [old]
    assert answer["kept"] == 2  # the newest, and the locked one
    assert [r.path.rsplit("/", 1)[1] for r in operations(emulator, "DeleteVolumeBackup")] == [old]
    assert states(emulator)[locked] == "AVAILABLE"
    assert emulator.messages == []


def test_a_lock_ended_long_ago_holds_nothing(start_function, emulator):
    newest = own_backup(emulator, source_id=SPARE, timeCreated=ago(0.01))
    expired = own_backup(emulator, source_id=SPARE, timeCreated=ago(40), timeRetentionExpiresAt=ago(1))
    function = start_function(KEEP_LAST="1")
    assert function.call(Call(body=finished_event(newest), delivery="events")).json["pruned"] == [expired]


def test_a_late_event_for_an_old_backup_copies_nothing_retention_deletes(start_function, emulator):
    own_backup(emulator, source_id=SPARE, timeCreated=ago(0.01))
    own_backup(emulator, source_id=SPARE, timeCreated=ago(1))
    late = own_backup(emulator, source_id=SPARE, timeCreated=ago(30))
    function = start_function(KEEP_LAST="2", COPY_TO_REGIONS="us-phoenix-1")
    answer = function.call(Call(body=finished_event(late), delivery="events")).json
    assert answer["pruned"] == [late]
    assert "copies" not in answer
    assert operations(emulator, "CopyVolumeBackup") == [] and emulator.backups_in_region("us-phoenix-1") == []


def test_the_function_s_copies_in_each_region_are_pruned_there_but_never_one_still_being_made(start_function, emulator):
    emulator.state.available_after = 60  # copies stay CREATING
    sources = [own_backup(emulator, source_id=SPARE, timeCreated=ago(day)) for day in (3, 2, 1)]
    newest = own_backup(emulator, source_id=SPARE, timeCreated=ago(0.01))
    function = start_function(COPY_TO_REGIONS="us-phoenix-1")
    for source in sources:
        assert function.call(Call(body=finished_event(source), delivery="events")).json["copies"][0]["outcome"] == "created"
    copies = {b["sourceVolumeBackupId"]: b["id"] for b in emulator.backups_in_region("us-phoenix-1")}
    # The oldest copy finished; the other two are still being made.
    with emulator.state.lock:
        emulator.state.backups[copies[sources[0]]].update(lifecycleState="AVAILABLE", timeCreated=ago(3))
        emulator.state.received_at.pop(copies[sources[0]], None)
    emulator.requests.clear()
    function = start_function("fn2", COPY_TO_REGIONS="us-phoenix-1", KEEP_LAST="1")
    answer = function.call(Call(body=finished_event(newest), delivery="events")).json
    # Here: sources[0] goes (its copy is done); sources[1] and [2] stay, their copies still being made.
    assert answer["pruned"] == [sources[0]]
    regions = {r["region"]: r for r in answer["copyRetention"]}
    assert regions["us-phoenix-1"]["pruned"] == []  # one AVAILABLE copy: the newest, kept
    there = {b["id"]: b["lifecycleState"] for b in emulator.backups_in_region("us-phoenix-1")}
    assert all(there[copies[s]] != "TERMINATED" for s in sources)
    listed_there = [r for r in operations(emulator, "ListVolumeBackups") if r.region == "us-phoenix-1"]
    assert listed_there and all(r.signature_ok for r in listed_there)


def test_old_copies_in_a_region_are_deleted_on_that_region_s_endpoint(start_function, emulator):
    sources = [own_backup(emulator, source_id=SPARE, timeCreated=ago(day)) for day in (9, 8)]
    newest = own_backup(emulator, source_id=SPARE, timeCreated=ago(0.01))
    function = start_function(COPY_TO_REGIONS="us-phoenix-1")
    for source in sources:
        function.call(Call(body=finished_event(source), delivery="events"))
    copies = {b["sourceVolumeBackupId"]: b["id"] for b in emulator.backups_in_region("us-phoenix-1")}
    with emulator.state.lock:
        for day, source in zip((9, 8), sources, strict=True):
            emulator.state.backups[copies[source]].update(lifecycleState="AVAILABLE", timeCreated=ago(day))
            emulator.state.received_at.pop(copies[source], None)
    function = start_function("fn2", COPY_TO_REGIONS="us-phoenix-1", KEEP_LAST="1")
    answer = function.call(Call(body=finished_event(newest), delivery="events")).json
    (phoenix,) = answer["copyRetention"]
    assert phoenix["pruned"] == [copies[sources[0]]] and phoenix["prunedCount"] == 1
    deletes = [r for r in operations(emulator, "DeleteVolumeBackup") if r.region == "us-phoenix-1"]
    assert [r.path.rsplit("/", 1)[1] for r in deletes] == [copies[sources[0]]]


def test_lifecycle_refuses_a_backup_outside_the_allowed_compartments(start_function, emulator):
    theirs = own_backup(emulator, source_id=DEV_VOLUME, timeCreated=ago(0.01))
    own_backup(emulator, source_id=DEV_VOLUME, timeCreated=ago(30))
    function = start_function(ALLOWED_COMPARTMENT_IDS=PROD, KEEP_LAST="1", COPY_TO_REGIONS="us-phoenix-1")
    answer = function.call(Call(body=finished_event(theirs), delivery="events")).json
    assert answer["ignored"] is True and "ALLOWED_COMPARTMENT_IDS" in answer["reason"]
    assert [r.operation for r in emulator.requests] == ["GetVolumeBackup"]


def test_a_backup_is_marked_in_its_own_create_with_the_volume_it_is_of(function, emulator):
    s = sample("request-postman-create-volume-backup.json")
    answer = function.call(s.call()).json
    assert answer["marked"] is True
    made = emulator.backups[answer["id"]]
    mark = {MARK_KEY: f"backup-of:{made['volumeId']}"}
    assert made["definedTags"] == {"Operations": {"CostCenter": "42"}, MARK_NAMESPACE: mark}
    assert made["freeformTags"]["backup-trigger"] == "direct"
    (create,) = operations(emulator, "CreateVolumeBackup")
    assert json.loads(create.body)["definedTags"][MARK_NAMESPACE] == mark and create.signature_ok
    assert operations(emulator, "UpdateVolumeBackup") == []


def test_copies_a_colleague_makes_of_the_function_s_backups_carry_their_tags_and_are_still_not_the_function_s(start_function, emulator):
    created_mark = {MARK_NAMESPACE: {MARK_KEY: f"backup-of:{SPARE}"}}  # as the function's create sets it
    made = [emulator.add_backup(source_id=SPARE, freeformTags=OURS, definedTags=created_mark) for _ in range(2)]
    copies = []
    for age, backup_id in zip((30, 20), made, strict=True):
        with emulator.state.lock:
            emulator.state.backups[backup_id].update(lifecycleState="AVAILABLE", timeCreated=ago(age))
            emulator.state.received_at.pop(backup_id, None)
        copied = emulator.state.copy_backup(VOLUME, backup_id, {"destinationRegion": "us-phoenix-1"}, None)  # by hand
        with emulator.state.lock:
            emulator.state.backups[copied["id"]].update(lifecycleState="AVAILABLE", timeCreated=ago(age))
            emulator.state.received_at.pop(copied["id"], None)
        assert emulator.backups[copied["id"]]["definedTags"] == emulator.backups[backup_id]["definedTags"]  # OCI copied the mark
        copies.append(copied["id"])
    newest = own_backup(emulator, source_id=SPARE, timeCreated=ago(0.01))
    function = start_function(COPY_TO_REGIONS="us-phoenix-1", KEEP_LAST="1")
    answer = function.call(Call(body=finished_event(newest), delivery="events")).json
    assert sorted(answer["pruned"]) == sorted(made)  # the function's own, older than the newest
    (phoenix,) = answer["copyRetention"]
    assert phoenix["pruned"] == [] and phoenix["kept"] == 0  # neither copy is the function's
    there = {b["id"]: b["lifecycleState"] for b in emulator.backups_in_region("us-phoenix-1")}
    assert [there[c] for c in copies] == ["AVAILABLE", "AVAILABLE"]


def test_a_mark_namespace_oci_does_not_know_fails_the_backup_as_the_operator_s_to_mend_and_pages(start_function, emulator):
    function = start_function(MARK_TAG_NAMESPACE="volume-backup-typo", FAILURE_TOPIC_ID=TOPIC)
    event = sample("event-createvolume-end.json")
    result = function.call(event.call())
    assert result.status == 502  # redelivered: once the namespace is mended, the backup is made
    assert result.json["code"] == "InvalidConfiguration"
    assert "does not exist" in result.json["message"] and "MARK_TAG_NAMESPACE=volume-backup-typo" in result.json["message"]
    assert emulator.backups_for(event.payload["data"]["resourceId"]) == []
    assert len(emulator.messages) == 1


def test_a_caller_s_own_unknown_tag_namespace_is_still_the_caller_s_error(start_function, emulator):
    function = start_function(FAILURE_TOPIC_ID=TOPIC)
    body = {**sample("request-volume.json").payload, "definedTags": {"No-Such-Namespace": {"k": "v"}}}
    result = function.call(Call(body=json.dumps(body).encode(), delivery="api-gateway"))
    assert result.http_status == 400 and result.json["code"] == "InvalidParameter"
    assert "No-Such-Namespace" in result.json["message"]


@pytest.mark.parametrize(
    ("tags", "named"),
    [
        ({"freeformTags": {"backup-trigger": "sweep"}}, "freeformTags.backup-trigger"),
        ({"freeformTags": {"backup-trigger-id": "x"}}, "freeformTags.backup-trigger-id"),
        ({"definedTags": {MARK_NAMESPACE: {MARK_KEY: "ocid1.volumebackup.oc1.iad.forged"}}}, f"definedTags.{MARK_NAMESPACE}"),
    ],
)
def test_a_request_naming_the_function_s_own_tags_is_refused_and_pages_nobody(start_function, emulator, tags, named):
    function = start_function(FAILURE_TOPIC_ID=TOPIC)
    body = {**sample("request-volume.json").payload, **tags}
    result = function.call(Call(body=json.dumps(body).encode(), delivery="api-gateway"))
    assert result.http_status == 400
    assert named in result.json["message"]
    assert operations(emulator, "CreateVolumeBackup") == [] and emulator.messages == []


def test_retention_without_a_mark_is_invalid_configuration_naming_it(start_function, emulator):
    function = start_function(KEEP_LAST="2", MARK_TAG_NAMESPACE="")
    result = function.call(Call(body=finished_event(own_backup(emulator, source_id=SPARE)), delivery="events"))
    assert result.json["code"] == "InvalidConfiguration"
    assert "MARK_TAG_NAMESPACE" in result.json["message"]
    assert emulator.requests == []


def test_old_unmarked_backups_are_kept_unless_the_operator_adopts_them(start_function, emulator):
    newest = own_backup(emulator, source_id=SPARE, timeCreated=ago(0.01))
    old = [emulator.add_backup(source_id=SPARE, timeCreated=ago(day), freeformTags=OURS) for day in (20, 30)]
    kept = start_function(KEEP_LAST="1").call(Call(body=finished_event(newest), delivery="events")).json
    assert kept["pruned"] == [] and states(emulator)[old[0]] == states(emulator)[old[1]] == "AVAILABLE"
    # Adopted: made before the given time with the old provenance tag; they are the function's from now on.
    adopting = start_function("fn2", KEEP_LAST="2", ADOPT_UNMARKED_BEFORE=ago(10))
    adopted = adopting.call(Call(body=finished_event(newest), delivery="events")).json
    assert adopted["pruned"] == [old[1]]
    assert emulator.backups[old[0]]["definedTags"][MARK_NAMESPACE] == {MARK_KEY: old[0]}


def test_retention_pages_by_a_thousand_and_answers_a_bounded_list_with_exact_counts(start_function, emulator):
    newest = own_backup(emulator, source_id=SPARE, timeCreated=ago(0.001))
    many = [own_backup(emulator, source_id=SPARE, timeCreated=ago(1 + n / 1000)) for n in range(260)]
    function = start_function(KEEP_LAST="2")
    answer = function.call(Call(body=finished_event(newest), delivery="events")).json
    assert len(answer["pruned"]) == 200 and answer["counts"]["pruned"] == 259
    assert answer["kept"] == 2
    assert sum(1 for state in states(emulator).values() if state == "TERMINATED") == 259
    assert states(emulator)[many[0]] == "AVAILABLE"
    (listing,) = operations(emulator, "ListVolumeBackups")
    assert listing.query["limit"] == "1000"


def test_a_throttled_publish_is_retried_so_a_real_failure_is_not_lost_behind_a_flood(start_function, emulator):
    emulator.notifications.limit, emulator.notifications.window_seconds = 2, 1.0
    faulty = [own_backup(emulator, source_id=SPARE, lifecycleState="FAULTY", timeCreated=ago(0.01 * n)) for n in range(1, 4)]
    function = start_function(FAILURE_TOPIC_ID=TOPIC, KEEP_LAST="1")
    for backup_id in faulty:
        assert function.call(Call(body=finished_event(backup_id), delivery="events")).json["failures"][0]["code"] == "BackupFaulty"
    assert len(emulator.messages) == 3
    assert 429 in [r.status for r in operations(emulator, "PublishMessage")]


def test_retention_on_a_slow_volume_with_many_backups_makes_progress_every_delivery(start_function, emulator):
    newest = own_backup(emulator, source_id=SPARE, timeCreated=ago(0.001))
    for n in range(1500):
        own_backup(emulator, source_id=SPARE, timeCreated=ago(1 + n / 10_000))
    function = start_function(KEEP_LAST="2", DEADLINE_MARGIN_SECONDS="0.5")
    function.call(sample("request-not-found.json").call())  # loads the function and the SDK first
    emulator.latency = 0.05  # every round trip
    deleted: list[set[str]] = []
    for _ in range(2):
        result = function.call(Call(body=finished_event(newest), delivery="notifications", deadline_seconds=5))
        assert result.status == 200  # what is left goes with the next event
        answer = result.json
        assert 0 < answer["counts"]["pruned"] == len(answer["pruned"]) <= 200
        deleted.append(set(answer["pruned"]))
    assert not deleted[0] & deleted[1]  # the second delivery went on where the first stopped
    assert sum(1 for state in states(emulator).values() if state == "TERMINATED") == len(deleted[0] | deleted[1])


def test_a_volume_carrying_the_function_s_freeform_tags_is_still_backed_up_on_its_event(start_function, emulator):
    """An event's tags are the volume's own, not a caller's request: they never make it a client error."""
    emulator.state.volumes.update("volumes", SPARE, freeformTags=OURS)
    payload = sample("event-createvolume-end.json").payload
    payload["data"].update(resourceId=SPARE, freeformTags=OURS)
    result = start_function().call(Call(body=json.dumps(payload).encode(), delivery="events"))
    assert result.status == 200, result.body
    assert result.json["outcome"] == "created"
    made = emulator.backups[result.json["id"]]
    assert made["freeformTags"]["backup-trigger"] == "oci-events"  # the function's own tags win over the volume's
    assert made["freeformTags"]["backup-trigger-id"] == payload["eventID"][:256]
